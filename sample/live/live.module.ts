import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { AccountGateway } from './account.gateway';

@Module({ imports: [UsersModule], providers: [AccountGateway] })
export class LiveModule {}
