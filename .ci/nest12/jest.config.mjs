/**
 * Nest 12 leg: the root Jest config (same suites, mapper, globalSetup, timeout) run as ES modules,
 * because the Nest 12 packages are ESM-only. Needs NODE_OPTIONS=--experimental-vm-modules and the
 * Nest 12 node_modules that .ci/test-nest12.sh installs; it is not meant for the working tree.
 */
import base from '../../jest.config.js';

export default {
  ...base,
  // The root config's rootDir '.' would otherwise resolve against this directory.
  rootDir: '../..',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: '<rootDir>/.ci/nest12/tsconfig.json' }],
  },
  setupFiles: [...(base.setupFiles ?? []), '<rootDir>/.ci/nest12/jest-global.mjs'],
};
