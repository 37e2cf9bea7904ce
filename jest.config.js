/** Unit tests need nothing; integration tests share one Temporal dev server started in globalSetup. */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: { warnOnly: false }, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // The chaos test runs on its own (npm run test:chaos, also in .ci/run).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/chaos/'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 180000,
  maxWorkers: 1,
  // Tests pass or fail on their own; this only stops a stray SDK handle from keeping CI alive after the last one.
  forceExit: true,
};
