/**
 * Write floor: Nest on Express, and per request the least any durable session write pays: read
 * the cookie, hash it, one UPDATE by primary key of a small table (`write_floor`, one row per
 * signed-in reader, created and filled by the runner) through a plain pg pool (10 connections,
 * as TypeORM's default), committed with `synchronous_commit = on` (PostgreSQL's default, set on
 * the connections so that a server configured otherwise cannot make the floor cheaper); 401 when
 * no row matches. The counterpart for writes of floor.ts.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import {
  Controller,
  HttpCode,
  Inject,
  Module,
  OnApplicationShutdown,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Pool } from 'pg';
import { cookieValue, countStatements, databaseUrl, serve } from './harness';

const POOL = Symbol('pool');

@Controller()
class WriteFloorController implements OnApplicationShutdown {
  constructor(@Inject(POOL) private readonly pool: Pool) {}

  @Post('write')
  @HttpCode(200)
  async write(@Req() request: { headers: Record<string, string | undefined> }) {
    const token = cookieValue(request.headers.cookie, '__Host-sid');
    if (!token) throw new UnauthorizedException();
    const hash = createHash('sha256').update(token, 'ascii').digest();
    const { rows } = await this.pool.query<{ user_id: string }>(
      'UPDATE write_floor SET data = $2 WHERE id_hash = $1 RETURNING user_id',
      [hash, JSON.stringify({ n: Math.random() })],
    );
    if (!rows[0]) throw new UnauthorizedException();
    return { userId: rows[0].user_id };
  }

  async onApplicationShutdown() {
    await this.pool.end();
  }
}

@Module({
  controllers: [WriteFloorController],
  providers: [
    {
      provide: POOL,
      useFactory: () =>
        new Pool({
          connectionString: databaseUrl(),
          max: 10,
          options: '-c synchronous_commit=on',
        }),
    },
  ],
})
class WriteFloorModule {}

async function main() {
  countStatements();
  const app = await NestFactory.create(WriteFloorModule, { logger: ['error'] });
  await serve(app);
}

void main();
