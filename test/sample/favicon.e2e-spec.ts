import request from 'supertest';
import {
  SAMPLE_ADAPTERS,
  SAMPLE_COOKIE,
  SampleApp,
  SampleDatabase,
  startSample,
} from '../support/sample-app';

/**
 * Browsers ask for `/favicon.ico` on their own. The sample answers 204 outside the API prefix
 * and past the global SessionGuard (the browser test checks what Chromium itself gets).
 */
let database: SampleDatabase;

beforeAll(async () => {
  database = await SampleDatabase.create('favicon');
});
afterAll(() => database?.drop());

describe.each(SAMPLE_ADAPTERS)('GET /favicon.ico (%s)', (adapter) => {
  let sample: SampleApp;

  beforeAll(async () => {
    sample = await startSample(adapter, { databaseUrl: database.url });
  });
  afterAll(() => sample?.close());

  it('204 with no body and no cookie for a visitor without a session, cached for a day', async () => {
    const response = await request(sample.url).get('/favicon.ico');
    expect(response.status).toBe(204);
    expect(response.text ?? '').toBe('');
    expect(response.headers['cache-control']).toBe('public, max-age=86400');
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('204 with a session cookie the server never issued: public, the guard lets it through', async () => {
    const response = await request(sample.url)
      .get('/favicon.ico')
      .set('Cookie', `${SAMPLE_COOKIE}=${'A'.repeat(43)}`);
    expect(response.status).toBe(204);
  });

  it('is not an API route: /api/favicon.ico does not exist', async () => {
    const response = await request(sample.url).get('/api/favicon.ico');
    expect(response.status).toBe(404);
  });
});
