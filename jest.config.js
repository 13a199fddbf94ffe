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
  // Issue 16 in progress: the model-based suites join the default run once the model knows the
  // latest fixes (CONTRIBUTING.md, "The model-based lifecycle test").
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/model/'],
  // The quick-start test unpacks the package there: a second "nest-session-security" for Jest.
  modulePathIgnorePatterns: ['<rootDir>/test-artifacts/'],
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  testTimeout: 60000,
};
