/**
 * A load generator that runs in a worker thread, so that the application under test (in the
 * main thread) and its client do not share one event loop. Loopback only, bounded by `total`.
 *
 * workerData: { port, total, concurrency, cookieName, tokens: string[] }
 * Request i: 30% GET /private with tokens[i % n]; 10% GET /public with an unknown well-formed
 * token; 50% GET /public with a malformed cookie (no query); 10% POST /private/data writing one
 * of ten keys.
 * Posts { statuses: { [status]: count }, failures, ms } when done.
 */
const { parentPort, workerData } = require('node:worker_threads');
const { Agent, request } = require('node:http');
const { randomBytes } = require('node:crypto');
const { Buffer } = require('node:buffer');

const { port, total, concurrency, cookieName, tokens } = workerData;
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });

function requestFor(i) {
  const kind = i % 10;
  if (kind < 5) return { method: 'GET', path: '/private', cookie: tokens[i % tokens.length] };
  if (kind < 7)
    return { method: 'GET', path: '/public', cookie: randomBytes(32).toString('base64url') };
  if (kind < 9)
    return { method: 'GET', path: '/public', cookie: `x${randomBytes(8).toString('hex')}` };
  return {
    method: 'POST',
    path: '/private/data',
    cookie: tokens[i % tokens.length],
    body: JSON.stringify({ [`k${i % 10}`]: i }),
  };
}

function send({ method, path, cookie, body }) {
  return new Promise((resolve) => {
    const headers = { cookie: `${cookieName}=${cookie}` };
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    if (body) req.write(body);
    req.end();
  });
}

async function main() {
  const started = Date.now();
  const statuses = {};
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const status = await send(requestFor(next++));
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  parentPort.postMessage({ statuses, ms: Date.now() - started });
}

main();
