export const DEFAULT_SERVER: string;
export const EMBEDDED_CONTROL: string;
export const EMBEDDED_URL: string;
/** The configured server, DATABASE_URL or the local default (whether or not it answers). */
export function serverUrl(): string;
/** The name of the database the package's suites share. */
export function testDatabaseName(): string;
/** The URL of the package suites' database, created empty by the global setup. */
export function testDatabaseUrl(): string;
/** True when this run uses the embedded PostgreSQL (PGlite) rather than a server. */
export function usesEmbeddedPostgres(): boolean;
/** Creates the database `name` empty (dropping any older one); resolves to its URL. */
export function createTestDatabase(name: string): Promise<string>;
/** Drops the database `name` if it exists. */
export function dropTestDatabase(name: string): Promise<void>;
