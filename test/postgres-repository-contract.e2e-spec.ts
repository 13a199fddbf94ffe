import {
  PostgresRememberMeRepository,
  PostgresSessionRepository,
  SESSION_MIGRATIONS,
} from 'nest-session-security';
import { DataSource } from 'typeorm';
import { describeRememberMeRepositoryContract } from './contract/remember-me-repository.contract';
import { describeSessionRepositoryContract } from './contract/session-repository.contract';
import { testDatabaseUrl } from './support/database-url';
import { storageOptions } from './support/test-app';

/** The run's database, migrated, without a server key (the contract stores the first one). */
async function migratedDataSource(): Promise<DataSource> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: testDatabaseUrl(),
    migrations: SESSION_MIGRATIONS,
    migrationsRun: true,
    logging: false,
  });
  await dataSource.initialize();
  await dataSource.query(`DELETE FROM "session_server_key"`);
  return dataSource;
}

/** A data source whose pool has been closed: every statement on it fails. */
async function closedDataSource(): Promise<DataSource> {
  const dataSource = new DataSource({ type: 'postgres', url: testDatabaseUrl(), logging: false });
  await dataSource.initialize();
  await dataSource.destroy();
  return dataSource;
}

describeSessionRepositoryContract('PostgresSessionRepository', async () => {
  const dataSource = await migratedDataSource();
  return {
    repository: new PostgresSessionRepository(dataSource, storageOptions()),
    unreachable: new PostgresSessionRepository(await closedDataSource(), storageOptions()),
    close: () => dataSource.destroy(),
  };
});

describeRememberMeRepositoryContract('PostgresRememberMeRepository', async () => {
  const dataSource = await migratedDataSource();
  return {
    repository: new PostgresRememberMeRepository(dataSource, storageOptions()),
    unreachable: new PostgresRememberMeRepository(await closedDataSource(), storageOptions()),
    close: () => dataSource.destroy(),
  };
});
