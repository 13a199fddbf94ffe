import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { HomeController } from './home.controller';

@Module({ imports: [UsersModule], controllers: [HomeController] })
export class HomeModule {}
