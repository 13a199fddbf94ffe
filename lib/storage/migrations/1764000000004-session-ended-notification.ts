import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Makes PostgreSQL tell every instance of the application when a session stops being live, so
 * that each closes the open WebSockets of that session (live sign-out). Row triggers on the
 * `session` table send `NOTIFY nest_session_security_ended` with the hexadecimal `id_hash` of the
 * row (64 lower-case characters) when:
 * - an UPDATE sets `revoked_at` or `obsoleted_at` where it was NULL (revocation, regeneration);
 * - a DELETE removes a row whose `revoked_at` and `obsoleted_at` are both NULL (logout, the
 *   garbage collection of an expired session).
 * Their WHEN clauses keep every other write (a touch, a data change) from calling the function.
 * A notification is sent when the transaction commits, and only then; whatever changes the table
 * sends it, plain SQL included.
 *
 * The names are written out here rather than imported: a migration describes the schema as it
 * was made, whatever the code's constants become.
 */
export class SessionEndedNotification1764000000004 implements MigrationInterface {
  name = 'SessionEndedNotification1764000000004';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "session_ended_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('nest_session_security_ended', encode(OLD."id_hash", 'hex'));
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "session_ended_on_update"
        AFTER UPDATE OF "revoked_at", "obsoleted_at" ON "session"
        FOR EACH ROW
        WHEN ((OLD."revoked_at" IS NULL AND NEW."revoked_at" IS NOT NULL)
           OR (OLD."obsoleted_at" IS NULL AND NEW."obsoleted_at" IS NOT NULL))
        EXECUTE FUNCTION "session_ended_notify"()`);
    await queryRunner.query(`
      CREATE TRIGGER "session_ended_on_delete"
        AFTER DELETE ON "session"
        FOR EACH ROW
        WHEN (OLD."revoked_at" IS NULL AND OLD."obsoleted_at" IS NULL)
        EXECUTE FUNCTION "session_ended_notify"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "session_ended_on_delete" ON "session"`);
    await queryRunner.query(`DROP TRIGGER "session_ended_on_update" ON "session"`);
    await queryRunner.query(`DROP FUNCTION "session_ended_notify"()`);
  }
}
