/**
 * The ceiling plus one global guard that lets every request through: what Nest's guard pipeline
 * costs on its own, a cost every session package pays that enforces its access rules
 * (`@Public()`, sign-in required) in a guard, as this one does.
 */
import 'reflect-metadata';
import { APP_GUARD } from '@nestjs/core';
import { AllowEveryRequestGuard } from './allow-every-request.guard';
import { serveCeiling } from './ceiling-app';

void serveCeiling([{ provide: APP_GUARD, useClass: AllowEveryRequestGuard }]);
