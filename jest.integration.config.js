/** Integration tests: the handler against moto_server and a local JIRA-compatible server. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integration'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  testTimeout: 60000,
  maxWorkers: 1,
};
