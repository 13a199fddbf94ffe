import { TestingModuleBuilder } from '@nestjs/testing';
import { SessionCache } from 'nest-session-security';

/*
 * `TEST_SESSION_CACHE=off` (CI's second run of the suites): every application the suites build
 * with Nest's testing module runs without the session cache, whatever options it gives, so the
 * whole suite checks both modes. Loaded by Jest (`setupFiles`) before each test file.
 */
if (process.env.TEST_SESSION_CACHE === 'off') {
  const compile = TestingModuleBuilder.prototype.compile;
  TestingModuleBuilder.prototype.compile = function (
    this: TestingModuleBuilder,
    ...args: Parameters<TestingModuleBuilder['compile']>
  ) {
    this.overrideProvider(SessionCache).useValue(null);
    return compile.apply(this, args);
  };
}
