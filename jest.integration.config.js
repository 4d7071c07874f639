/** Integration tests: the handler against moto_server and a local JIRA-compatible server. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/integration'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
  testTimeout: 60000,
  // Each test file starts its own moto_server and JIRA server on free loopback ports, so files can run side by side:
  // two workers take the suite from about 8 to about 5 minutes on a 2-CPU machine (the alarm storm is the long pole).
  maxWorkers: 2,
};
