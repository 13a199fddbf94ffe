import { Module } from '@nestjs/common';
import { CsrfTokenProvider } from './csrf-token.provider';
import { CsrfController } from './csrf.controller';

@Module({ controllers: [CsrfController], providers: [CsrfTokenProvider] })
export class CsrfModule {}
