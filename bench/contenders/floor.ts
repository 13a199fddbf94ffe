/**
 * Floor: Nest on Express, and per request the least any database-backed session check pays:
 * read the cookie, hash it, one primary-key SELECT on the session table through a plain pg pool
 * (10 connections, as TypeORM's default), 401 when there is no row.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import {
  Controller,
  Get,
  Inject,
  Module,
  OnApplicationShutdown,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { cookieValue, countStatements, databaseUrl, serve } from './harness';

const POOL = Symbol('pool');

@Controller()
class FloorController implements OnApplicationShutdown {
  constructor(@Inject(POOL) private readonly pool: Pool) {}

  @Get('read')
  async read(@Req() request: { headers: Record<string, string | undefined> }) {
    const token = cookieValue(request.headers.cookie, '__Host-sid');
    if (!token) throw new UnauthorizedException();
    const hash = createHash('sha256').update(token, 'ascii').digest();
    const { rows } = await this.pool.query<{ user_id: string | null }>(
      // The whole row, as the module reads it (storage contract in the README).
      'SELECT * FROM "session" WHERE id_hash = $1',
      [hash],
    );
    if (!rows[0]?.user_id) throw new UnauthorizedException();
    return { userId: rows[0].user_id };
  }

  async onApplicationShutdown() {
    await this.pool.end();
  }
}

@Module({
  controllers: [FloorController],
  providers: [
    { provide: POOL, useFactory: () => new Pool({ connectionString: databaseUrl(), max: 10 }) },
  ],
})
class FloorModule {}

async function main() {
  countStatements();
  const app = await NestFactory.create(FloorModule, { logger: ['error'] });
  await serve(app);
}

void main();
