import { UserEntity } from './user.entity';

/** What the API shows of a user: never the password hash. */
export interface PublicUser {
  id: string;
  username: string;
}

export function toPublicUser(user: UserEntity): PublicUser {
  return { id: user.id, username: user.username };
}
