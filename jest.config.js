/** Unit tests: no network, no AWS, no emulator. `npm test` runs these. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/'],
  transform: { '^.+\\.tsx?$': 'ts-jest' },
};
