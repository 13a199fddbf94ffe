import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Empties every instance's session cache when the `session` table is truncated: a statement
 * trigger sends `NOTIFY nest_session_security_changed` with the payload `*`, delivered at commit.
 *
 * The other changes reach the caches without a trigger on every write (a `NOTIFY` inside a
 * transaction serialises the commits of every notifying transaction, measured at a third of the
 * write throughput): sessions that stop being live are notified by the triggers of
 * `SessionEndedNotification1764000000004`, and the instance that writes a session's data or
 * touches it notifies the others itself, after its commit.
 *
 * The names are written out here rather than imported: a migration describes the schema as it
 * was made, whatever the code's constants become.
 */
export class SessionChangedNotification1764000000005 implements MigrationInterface {
  name = 'SessionChangedNotification1764000000005';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "session_truncated_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('nest_session_security_changed', '*');
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "session_changed_on_truncate"
        AFTER TRUNCATE ON "session"
        FOR EACH STATEMENT
        EXECUTE FUNCTION "session_truncated_notify"()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TRIGGER "session_changed_on_truncate" ON "session"`);
    await queryRunner.query(`DROP FUNCTION "session_truncated_notify"()`);
  }
}
