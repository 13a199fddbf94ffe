import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds what the obsolete-ID rules and the device list need (README, "Storage contract"):
 * why a row was made obsolete, when a session's own token was first presented, and the
 * remembered device a restored session came from.
 */
export class SessionRegenerationColumns1764000000002 implements MigrationInterface {
  name = 'SessionRegenerationColumns1764000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "session"
        ADD COLUMN "obsoleted_by" text,
        ADD COLUMN "presented_at" TIMESTAMP WITH TIME ZONE,
        ADD COLUMN "remember_me_handle" text`);
    // Sessions that exist already were created before successors waited to be presented.
    await queryRunner.query(
      `UPDATE "session" SET "presented_at" = "created_at" WHERE "obsoleted_at" IS NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "session"
        DROP COLUMN "obsoleted_by",
        DROP COLUMN "presented_at",
        DROP COLUMN "remember_me_handle"`);
  }
}
