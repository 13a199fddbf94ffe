import { MigrationInterface, QueryRunner } from 'typeorm';

/** Creates the `remember_me_token` table of the storage contract (README, "Remember me"). */
export class CreateRememberMeTable1764000000001 implements MigrationInterface {
  name = 'CreateRememberMeTable1764000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "remember_me_token" (
        "selector" text NOT NULL,
        "handle" text NOT NULL,
        "user_id" text NOT NULL,
        "validator_hash" bytea NOT NULL,
        "previous_validator_hash" bytea,
        "previous_successor" bytea,
        "rotated_at" TIMESTAMP WITH TIME ZONE,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "last_used_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "ip" text,
        "user_agent" text,
        CONSTRAINT "remember_me_token_pkey" PRIMARY KEY ("selector")
      )`);
    await queryRunner.query(
      `CREATE INDEX "remember_me_token_user_id_idx" ON "remember_me_token" ("user_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "remember_me_token_expires_at_idx" ON "remember_me_token" ("expires_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "remember_me_token"`);
  }
}
