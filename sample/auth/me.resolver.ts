import { UseFilters } from '@nestjs/common';
import { Query, Resolver } from '@nestjs/graphql';
import { CurrentSession, Session } from 'nest-session-security';
import { GraphqlErrorFilter } from '../graphql/graphql-error.filter';
import { UserModel } from '../users/user.model';
import { SignedInUsers } from './signed-in-users';

/** `query { me { username } }`: the signed-in user over GraphQL, as `GET /api/me` gives it. */
@UseFilters(GraphqlErrorFilter)
@Resolver(() => UserModel)
export class MeResolver {
  constructor(private readonly signedIn: SignedInUsers) {}

  // No decorator: the module's default access ('authenticated') makes an anonymous caller's
  // query a GraphQL error with extensions.code 'session_required'.
  @Query(() => UserModel)
  me(@CurrentSession() session: Session): Promise<UserModel> {
    return this.signedIn.userOf(session);
  }
}
