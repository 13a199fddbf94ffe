/** The PostgreSQL server the sample uses, and how to let go of it at shutdown. */
export interface DatabaseConnection {
  /** Connection URL for TypeORM (`pg`). */
  url: string;
  /** For the start-up log line. */
  description: string;
  /** Stops what the sample started; nothing for an external server. */
  close(): Promise<void>;
}

/** A server given by `DATABASE_URL`: the sample neither starts nor stops it. */
export function externalDatabase(url: string): DatabaseConnection {
  const { host, pathname } = new URL(url);
  return {
    url,
    // Host and database name only: the URL may carry a password.
    description: `PostgreSQL at ${host}${pathname}`,
    close: async () => undefined,
  };
}
