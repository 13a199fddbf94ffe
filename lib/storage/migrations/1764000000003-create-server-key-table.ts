import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Creates the one-row `session_server_key` table (README, "Storage contract"): the secret key
 * every instance of the application signs pre-sessions with. The row is written by the first
 * instance that starts, with bytes from Node's CSPRNG.
 */
export class CreateServerKeyTable1764000000003 implements MigrationInterface {
  name = 'CreateServerKeyTable1764000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "session_server_key" (
        "id" smallint NOT NULL,
        "key" bytea NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "session_server_key_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "session_server_key_single_row" CHECK ("id" = 1),
        CONSTRAINT "session_server_key_length" CHECK (octet_length("key") = 32)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "session_server_key"`);
  }
}
