export const DEFAULT_SERVER: string;
export const EMBEDDED_CONTROL: string;
export const EMBEDDED_URL: string;
/** The environment variable naming the run's main database (set by the global setup). */
export const RUN_DATABASE: string;
/** The configured server, DATABASE_URL or the local default (whether or not it answers). */
export function serverUrl(): string;
/** The URL without its password, for messages. */
export function shownUrl(url: string): string;
/** A new name for a run's main database: `<TEST_DATABASE or default prefix>_<random run id>`. */
export function newRunDatabaseName(): string;
/** The name of the run's main database, shared by the package's suites. */
export function testDatabaseName(): string;
/** The name of another database of this run, for one `purpose` (`[a-z0-9_]`). */
export function runDatabaseName(purpose: string): string;
/** The URL of the package suites' database, created empty by the global setup. */
export function testDatabaseUrl(): string;
/** True when this run uses the embedded PostgreSQL (PGlite) rather than a server. */
export function usesEmbeddedPostgres(): boolean;
/**
 * Creates this run's database `name`, empty; resolves to its URL. Fails, leaving it alone, when
 * a database of that name exists, and refuses a name outside the run's.
 */
export function createTestDatabase(name: string): Promise<string>;
/** Drops this run's database `name` if it exists; refuses a name outside the run's. */
export function dropTestDatabase(name: string): Promise<void>;
/** Drops every database of this run left on the server; resolves to their names. */
export function dropRunDatabases(): Promise<string[]>;
