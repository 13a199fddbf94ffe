import { Env, envChoice, envPort, envValue } from './env-values';

export const HTTP_ADAPTERS = ['express', 'fastify'] as const;
export type HttpAdapterName = (typeof HTTP_ADAPTERS)[number];

/**
 * What must be known before the Nest module graph is built: which HTTP platform to create,
 * where to listen, and which database to open (or whether to start the embedded one).
 */
export interface ServerConfig {
  port: number;
  /**
   * Interface to listen on. Loopback by default: the sample has well-known demo passwords, so
   * reaching it from the network is an explicit choice (`HOST=0.0.0.0`, e.g. in a container).
   */
  host: string;
  adapter: HttpAdapterName;
  /** A PostgreSQL URL; `undefined` starts the embedded database. */
  databaseUrl: string | undefined;
}

export function serverConfigFromEnv(env: Env): ServerConfig {
  return {
    port: envPort(env, 'PORT', 3000),
    host: envValue(env, 'HOST') ?? '127.0.0.1',
    adapter: envChoice(env, 'SAMPLE_ADAPTER', HTTP_ADAPTERS, 'express'),
    databaseUrl: envValue(env, 'DATABASE_URL'),
  };
}
