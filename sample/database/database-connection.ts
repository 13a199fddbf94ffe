/** The PostgreSQL server the sample uses, and how to let go of it at shutdown. */
export interface DatabaseConnection {
  /** Connection URL for TypeORM (`pg`). */
  url: string;
  /** For the start-up log line. */
  description: string;
  /**
   * Whether the package may use named prepared statements: not on the embedded server, which
   * serves every connection from one backend, where their names would collide.
   */
  preparedStatements: boolean;
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
    preparedStatements: true,
    close: async () => undefined,
  };
}
