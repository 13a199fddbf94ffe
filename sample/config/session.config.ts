import { registerAs } from '@nestjs/config';
import type { SessionModuleOptions } from 'nest-session-security';
import { Env, envBoolean, envDuration } from './env-values';

/**
 * The `SessionModule` options of the sample, from the environment. An unset variable stays
 * `undefined`, so the package's own default applies (30m idle, 12h absolute, 60s grace, 15m
 * rotation).
 */
export function sessionOptionsFromEnv(env: Env): SessionModuleOptions {
  const rotation = envDuration(env, 'SESSION_ROTATION_INTERVAL');
  return {
    idleTimeout: envDuration(env, 'SESSION_IDLE_TIMEOUT'),
    absoluteTimeout: envDuration(env, 'SESSION_ABSOLUTE_TIMEOUT'),
    obsoleteGracePeriod: envDuration(env, 'SESSION_OBSOLETE_GRACE'),
    // '0' is the documented way to turn periodic rotation off.
    rotationInterval: rotation === 0 ? false : rotation,
    // Secure stays on unless turned off explicitly (local development over plain http).
    cookie: { secure: envBoolean(env, 'SESSION_COOKIE_SECURE', true) },
  };
}

/** The `session` namespace of `@nestjs/config`, read by `SessionModule.forRootAsync`. */
export const sessionConfig = registerAs('session', () => sessionOptionsFromEnv(process.env));
