import { Scope, Type } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SessionUsageError } from '../core/errors';
import { SessionUserLoader } from './session-user-loader';

/** The loader's class is its token; `introspect` is typed for concrete classes only. */
const TOKEN = SessionUserLoader as Type<SessionUserLoader>;
const HOW_TO_PROVIDE = '{ provide: SessionUserLoader, useClass: UsersLoader }';

/**
 * The app's `SessionUserLoader`, from whichever module provides it, or `null` when none does.
 * Looked up across modules (`strict: false`) so that the app needs no module option and no
 * export for it. A loader that cannot be shared by every request (request-scoped or transient,
 * itself or through a dependency), or several of them, is a start-up error: silently loading
 * no user would leave `req.user` empty with nothing said.
 */
export function findSessionUserLoader(moduleRef: ModuleRef): SessionUserLoader | null {
  let scope: Scope;
  try {
    // `introspect` searches every module and throws when no module provides the token.
    ({ scope } = moduleRef.introspect(TOKEN));
  } catch {
    return null;
  }
  if (scope !== Scope.DEFAULT) {
    throw new SessionUsageError(
      `The SessionUserLoader is ${Scope[scope].toLowerCase()}-scoped (itself or through a dependency), but the SessionGuard calls it for every request: give it and its dependencies the default (singleton) scope, as in ${HOW_TO_PROVIDE}.`,
    );
  }
  const loaders = moduleRef.get(TOKEN, {
    strict: false,
    each: true,
  });
  if (loaders.length > 1) {
    throw new SessionUsageError(
      `${loaders.length} modules provide a SessionUserLoader; provide it in one module only, as in ${HOW_TO_PROVIDE}.`,
    );
  }
  return loaders[0];
}
