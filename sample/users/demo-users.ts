/** The users seeded at start, named in the README and in the start-up log line. */
export const DEMO_USERS = [
  { username: 'alice', password: 'alice-demo-password' },
  { username: 'bob', password: 'bob-demo-password' },
] as const;
