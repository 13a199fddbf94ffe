import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creates the `session` table of the storage contract (README, "Storage contract").
 * Add it to your data source's `migrations` (or use `SESSION_MIGRATIONS`).
 */
export class CreateSessionTable1764000000000 implements MigrationInterface {
  name = 'CreateSessionTable1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "session" (
        "id_hash" bytea NOT NULL,
        "handle" text NOT NULL,
        "user_id" text,
        "data" jsonb NOT NULL DEFAULT '{}'::jsonb,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "authenticated_at" TIMESTAMP WITH TIME ZONE,
        "last_seen_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "rotated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "obsoleted_at" TIMESTAMP WITH TIME ZONE,
        "successor" bytea,
        "revoked_at" TIMESTAMP WITH TIME ZONE,
        "csrf_secret" bytea,
        "ip" text,
        "user_agent" text,
        "version" integer NOT NULL DEFAULT 1,
        CONSTRAINT "session_id_hash_length" CHECK (octet_length("id_hash") = 32),
        CONSTRAINT "session_pkey" PRIMARY KEY ("id_hash")
      )`);
    await queryRunner.query(`CREATE INDEX "session_user_id_idx" ON "session" ("user_id")`);
    await queryRunner.query(`CREATE INDEX "session_expires_at_idx" ON "session" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "session"`);
  }
}
