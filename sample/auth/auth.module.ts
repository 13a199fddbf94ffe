import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { MeController } from './me.controller';

@Module({
  imports: [UsersModule],
  controllers: [AuthController, MeController],
})
export class AuthModule {}
