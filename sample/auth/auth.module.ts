import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { signInThrottleConfig } from '../config/sign-in-throttle.config';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { MeController } from './me.controller';
import { MeResolver } from './me.resolver';
import { SignInThrottle } from './sign-in-throttle';
import { SignedInUsers } from './signed-in-users';

@Module({
  imports: [UsersModule, ConfigModule.forFeature(signInThrottleConfig)],
  controllers: [AuthController, MeController],
  providers: [SignInThrottle, SignedInUsers, MeResolver],
})
export class AuthModule {}
