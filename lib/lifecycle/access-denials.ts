import { SessionDenialCode } from '../errors/session.exceptions';
import { SessionContext, SessionDenial } from './session-context';

/**
 * Why a handler that needs a signed-in user refuses this session (the reason it cannot be used,
 * or none at all); `null` when it may pass. The same rule for routes, resolvers and messages.
 */
export function authenticationDenial(context: SessionContext): SessionDenial | null {
  if (context.denial) return context.denial;
  if (context.record?.userId) return null;
  return { code: SessionDenialCode.Required, message: 'Sign in to use this resource.' };
}

/** `@RequireFreshAuth(maxAge)`: why the last interactive sign-in is not recent enough, if it is not. */
export function freshnessDenial(
  maxAge: number | undefined,
  context: SessionContext,
): SessionDenial | null {
  if (maxAge === undefined) return null;
  const authenticatedAt = context.record?.authenticatedAt;
  if (authenticatedAt && context.loadedAt.getTime() - authenticatedAt.getTime() <= maxAge) {
    return null;
  }
  return {
    code: SessionDenialCode.ReauthRequired,
    message: 'Confirm your identity again to continue.',
  };
}
