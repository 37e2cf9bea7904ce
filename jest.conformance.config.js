/**
 * `npm run test:conformance` (issue 19): what this project writes, checked by DeepFabric 4.13's own
 * code (a PyPI venv made by scripts/ensure-deepfabric.sh; DEEPFABRIC_PYTHON names its python).
 * One real Temporal dev server, as for the integration tests.
 */
module.exports = {
  testTimeout: 300000,
  forceExit: true,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/conformance/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
};
