/**
 * `npm run test:model`: the model-based lifecycle test for a given time (long-run.model.ts).
 * Its own configuration, so that `npm test` (jest.config.js: `*.e2e-spec.ts` and `*.spec.ts`)
 * never picks the long run up.
 */
const base = require('../../jest.config');

module.exports = {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/model/long-run.model.ts'],
  // The run ends itself after MODEL_SECONDS per adapter (and the shrinking of any failure).
  testTimeout: 24 * 60 * 60 * 1000,
};
