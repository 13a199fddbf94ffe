import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { FaviconController } from './favicon.controller';
import { HomeController } from './home.controller';

@Module({ imports: [UsersModule], controllers: [HomeController, FaviconController] })
export class HomeModule {}
