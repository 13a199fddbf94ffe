import { CreateSessionTable1764000000000 } from './1764000000000-create-session-table';
import { CreateRememberMeTable1764000000001 } from './1764000000001-create-remember-me-table';
import { SessionRegenerationColumns1764000000002 } from './1764000000002-session-regeneration-columns';
import { CreateServerKeyTable1764000000003 } from './1764000000003-create-server-key-table';
import { SessionEndedNotification1764000000004 } from './1764000000004-session-ended-notification';
import { SessionChangedNotification1764000000005 } from './1764000000005-session-changed-notification';

/**
 * The package's migrations, in order, to add to a data source's `migrations` list.
 *
 * @example
 * TypeOrmModule.forRoot({ type: 'postgres', url, migrations: [...SESSION_MIGRATIONS], migrationsRun: true })
 */
export const SESSION_MIGRATIONS = [
  CreateSessionTable1764000000000,
  CreateRememberMeTable1764000000001,
  SessionRegenerationColumns1764000000002,
  CreateServerKeyTable1764000000003,
  SessionEndedNotification1764000000004,
  SessionChangedNotification1764000000005,
];

export {
  CreateSessionTable1764000000000,
  CreateRememberMeTable1764000000001,
  SessionRegenerationColumns1764000000002,
  CreateServerKeyTable1764000000003,
  SessionEndedNotification1764000000004,
  SessionChangedNotification1764000000005,
};
