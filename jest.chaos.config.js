/** The chaos test (npm run test:chaos): worker processes killed at random during real runs. */
const base = require('./jest.config');
module.exports = { ...base, testPathIgnorePatterns: ['/node_modules/'], testMatch: ['<rootDir>/test/chaos/**/*.test.ts'], testTimeout: 30 * 60 * 1000 };
