import { Injectable, Module, Provider, Scope } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { SessionUsageError } from '../core/errors';
import { findSessionUserLoader } from './find-session-user-loader';
import { SessionUserLoader } from './session-user-loader';

@Injectable()
class UsersLoader extends SessionUserLoader<{ id: string }> {
  async load(userId: string) {
    return { id: userId };
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestContext {}

@Injectable()
class LoaderOfTheRequest extends UsersLoader {
  constructor(readonly context: RequestContext) {
    super();
  }
}

/** A feature module that provides `providers` without exporting them, as an app's would. */
function feature(providers: Provider[]) {
  @Module({ providers })
  class FeatureModule {}
  return FeatureModule;
}

/** The loader the guard would find in an app made of these feature modules. */
async function find(...features: Provider[][]) {
  const app = await Test.createTestingModule({ imports: features.map(feature) }).compile();
  try {
    return findSessionUserLoader(app.get(ModuleRef));
  } finally {
    await app.close();
  }
}

describe('findSessionUserLoader', () => {
  it('finds none when no module provides one', async () => {
    expect(await find([])).toBeNull();
  });

  it('finds the loader of a feature module that does not export it', async () => {
    expect(await find([{ provide: SessionUserLoader, useClass: UsersLoader }])).toBeInstanceOf(
      UsersLoader,
    );
  });

  it('finds a loader given as an alias of the users service', async () => {
    const loader = await find([
      UsersLoader,
      { provide: SessionUserLoader, useExisting: UsersLoader },
    ]);
    expect(loader).toBeInstanceOf(UsersLoader);
  });

  it('refuses a request-scoped loader, or one that depends on the request, at start-up', async () => {
    const scoped = { provide: SessionUserLoader, useClass: UsersLoader, scope: Scope.REQUEST };
    await expect(find([scoped])).rejects.toThrow(SessionUsageError);
    await expect(find([scoped])).rejects.toThrow(/request-scoped/);
    const dependent = { provide: SessionUserLoader, useClass: LoaderOfTheRequest };
    await expect(find([RequestContext, dependent])).rejects.toThrow(/request-scoped/);
  });

  it('refuses a transient loader', async () => {
    const transient = { provide: SessionUserLoader, useClass: UsersLoader, scope: Scope.TRANSIENT };
    await expect(find([transient])).rejects.toThrow(/transient-scoped/);
  });

  it('refuses loaders in several modules rather than picking one', async () => {
    const loader = { provide: SessionUserLoader, useClass: UsersLoader };
    await expect(find([loader], [loader])).rejects.toThrow(/2 modules provide a SessionUserLoader/);
  });
});
