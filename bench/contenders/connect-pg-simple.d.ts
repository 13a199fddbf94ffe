/** The part of connect-pg-simple's API the benchmark uses (the package ships no types). */
declare module 'connect-pg-simple' {
  import type { Store, SessionOptions } from 'express-session';
  import type { Pool } from 'pg';

  interface PgStoreOptions {
    pool?: Pool;
    tableName?: string;
    createTableIfMissing?: boolean;
    pruneSessionInterval?: number | false;
  }

  type Session = (options?: SessionOptions) => unknown;
  export default function connectPgSimple(session: Session): new (options: PgStoreOptions) => Store;
}
