/** Nest 11 (CommonJS) test run: unit specs next to the code, end-to-end suites in test/. */
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleNameMapper: {
    '^nest-session-security$': '<rootDir>/lib/index.ts',
    '^nest-session-security/testing$': '<rootDir>/lib/testing/index.ts',
    // Mercurius loads @fastify/static, which requires an ES-module-only content-disposition.
    '^content-disposition$': '<rootDir>/test/support/content-disposition.cjs',
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  // The quick-start test unpacks the package there: a second "nest-session-security" for Jest.
  modulePathIgnorePatterns: ['<rootDir>/test-artifacts/'],
  // TEST_SESSION_CACHE=off runs every suite without the session cache.
  setupFiles: ['<rootDir>/test/support/session-cache-mode.ts'],
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 60000,
};
