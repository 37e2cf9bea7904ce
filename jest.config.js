/**
 * Three projects: `unit` (pure logic and workflow code driven by hand, no server: `npm run test:unit`),
 * `activities` (each activity in MockActivityEnvironment) and `integration` (one real Temporal dev server started in globalSetup, real SDKs against the
 * local LLM server, a real PostgreSQL). ts-jest only transpiles: `npm test` type-checks once with tsc.
 */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };

module.exports = {
  testTimeout: 180000,
  // Two test files at a time: integration tests mostly wait (model latency, heartbeat timeouts, kills),
  // each file has its own task queues, LLM server and data folders, and embedded servers of different
  // folders take different ports. `JEST_WORKERS=1 npm test` runs them one by one.
  maxWorkers: Number(process.env.JEST_WORKERS ?? 2),
  // Tests pass or fail on their own; this only stops a stray SDK handle from keeping CI alive after the last one.
  forceExit: true,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/workflow/**/*.test.ts'],
    },
    {
      // Each activity in Temporal's MockActivityEnvironment: no server, the local LLM server over HTTP, a temp data folder.
      displayName: 'activities',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/activities/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
