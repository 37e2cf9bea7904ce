/** The cluster test (npm run test:cluster): a four-service Temporal server on PostgreSQL, workers and a client as separate processes. */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
module.exports = {
  testEnvironment: 'node',
  transform,
  testMatch: ['<rootDir>/test/cluster/**/*.test.ts'],
  testTimeout: 30 * 60 * 1000,
  maxWorkers: 1,
  forceExit: true,
};
