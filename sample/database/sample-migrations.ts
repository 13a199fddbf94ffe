import { CreateUsersTable1764100000000 } from '../users/migrations/1764100000000-create-users-table';

/** The sample's own migrations, run after the package's `SESSION_MIGRATIONS`. */
export const SAMPLE_MIGRATIONS = [CreateUsersTable1764100000000];
