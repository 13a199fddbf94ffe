import { MigrationInterface, QueryRunner } from 'typeorm';

/** The sample's `users` table; the package's own `session` table comes from SESSION_MIGRATIONS. */
export class CreateUsersTable1764100000000 implements MigrationInterface {
  name = 'CreateUsersTable1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // gen_random_uuid() is built in since PostgreSQL 13 (and in PGlite): no extension needed.
    await queryRunner.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "username" text NOT NULL,
        "password_hash" text NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "users_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "users_username_key" UNIQUE ("username")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "users"`);
  }
}
