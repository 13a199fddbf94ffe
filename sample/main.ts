import { INestApplication, Logger } from '@nestjs/common';
import { SessionOptionsError } from 'nest-session-security';
import { AppModule } from './app.module';
import { serverConfigFromEnv } from './config/server.config';
import { sessionOptionsFromEnv } from './config/session.config';
import { signInThrottleFromEnv } from './config/sign-in-throttle.config';
import { DatabaseConnection } from './database/database-connection';
import { openDatabase } from './database/open-database';
import { createSampleApp } from './http/create-sample-app';
import { SampleStartupError } from './sample-startup.error';
import { DEMO_USERS } from './users/demo-users';

const logger = new Logger('Sample');

/**
 * Stops the app before the database: the app's pool and the session writes of requests still
 * in flight need the database until the app has closed. A second signal is not caught, so it
 * still ends a shutdown that hangs.
 */
function closeOnSignal(app: INestApplication, database: DatabaseConnection): void {
  const close = async (signal: NodeJS.Signals) => {
    logger.log(`${signal}: shutting down`);
    try {
      await app.close();
    } finally {
      await database.close();
    }
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, close);
}

async function bootstrap(): Promise<void> {
  // Read before the module graph exists: the platform and the database must be chosen first.
  const server = serverConfigFromEnv(process.env);
  // ConfigModule reads these again in the app; reading them here stops a typo before the
  // database starts, with the message alone instead of Nest's stack trace.
  sessionOptionsFromEnv(process.env);
  signInThrottleFromEnv(process.env);
  const database = await openDatabase(server.databaseUrl);
  let app: INestApplication;
  try {
    app = await createSampleApp(
      AppModule.register({
        databaseUrl: database.url,
        preparedStatements: database.preparedStatements,
        adapter: server.adapter,
      }),
      server.adapter,
    );
    await app.listen(server.port, server.host);
  } catch (error) {
    await database.close();
    throw error;
  }
  closeOnSignal(app, database);
  const { port } = new URL(await app.getUrl());
  const shownHost = server.host === '127.0.0.1' ? 'localhost' : server.host;
  const users = DEMO_USERS.map((user) => `${user.username} / ${user.password}`).join(' or ');
  logger.log(
    `Open http://${shownHost}:${port}/ (${server.adapter}, ${database.description}); sign in as ${users}`,
  );
}

bootstrap().catch((error: unknown) => {
  // Both say what to change; a stack trace would only bury that.
  if (error instanceof SampleStartupError || error instanceof SessionOptionsError) {
    logger.error(error.message);
  } else {
    logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.exit(1);
});
