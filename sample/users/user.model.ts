import { Field, ObjectType } from '@nestjs/graphql';

/** GraphQL `User`: what the schema shows of a user (never the password hash). */
@ObjectType('User')
export class UserModel {
  @Field(() => String)
  username!: string;
}
