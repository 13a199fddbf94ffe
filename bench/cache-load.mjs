/**
 * The steady read load of `npm run bench:cache` (bench/cache.mjs), in a process of its own so
 * that it neither slows nor is slowed by the runner's revocation loop: autocannon sends GET /read
 * at a fixed overall rate, each connection with the cookie of one signed-in session, until the
 * runner says `stop`; then it answers with the latencies (ms) and counts, and exits.
 *
 * Started by fork with one JSON argument: { base, sessions: [{ cookie }], rate, connections }.
 */
import autocannon from 'autocannon';
import process from 'node:process';

const { base, sessions, rate, connections } = JSON.parse(process.argv[2]);
let next = 0;
const instance = autocannon(
  {
    url: base,
    connections,
    overallRate: rate,
    // Until stopped: the runner decides how long a phase lasts.
    duration: 3600,
    requests: [{ method: 'GET', path: '/read' }],
    // One session per connection, set once (a setupRequest context is reset after each request).
    setupClient: (client) => client.setHeaders({ ...sessions[next++ % sessions.length] }),
  },
  (error, result) => {
    if (error) {
      process.send({ type: 'result', error: error.message });
    } else {
      process.send({
        type: 'result',
        requests: result.requests.total,
        seconds: result.duration,
        latency: result.latency,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
      });
    }
    process.disconnect();
  },
);
process.on('message', (message) => {
  if (message.type === 'stop') instance.stop();
});
process.send({ type: 'started' });
