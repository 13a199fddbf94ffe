/**
 * The guard contender whose read route takes one parameter from a custom decorator, as the
 * package's read route takes `@CurrentUserId()`: the ceiling of a session package that enforces
 * its rules in a guard and hands the session to handlers as a parameter, on this machine.
 */
import 'reflect-metadata';
import { APP_GUARD } from '@nestjs/core';
import { AllowEveryRequestGuard } from './allow-every-request.guard';
import { serveCeiling } from './ceiling-app';

void serveCeiling([{ provide: APP_GUARD, useClass: AllowEveryRequestGuard }], {
  readParameter: true,
});
