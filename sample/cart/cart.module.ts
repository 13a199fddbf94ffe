import { Module } from '@nestjs/common';
import { CartController } from './cart.controller';
import { CartResolver } from './cart.resolver';

@Module({ controllers: [CartController], providers: [CartResolver] })
export class CartModule {}
