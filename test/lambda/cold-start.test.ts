/**
 * What the handler loads at module init (Lambda's init phase). The Systems Manager SDK costs ~55 ms to require and
 * only OpsCenter (off by default) needs it, so it is loaded on first use (lambda/jira-incident/opscenter.ts ssmSdk).
 */
test('loading the handler does not load the SSM SDK; OpsCenter loads it on first use', () => {
  let loaded = 0;
  jest.isolateModules(() => {
    jest.doMock('@aws-sdk/client-ssm', () => {
      loaded += 1;
      return jest.requireActual('@aws-sdk/client-ssm');
    });
    const index = require('../../lambda/jira-incident/index') as { handler: unknown };
    expect(typeof index.handler).toBe('function');
    expect(loaded).toBe(0);
    const { ssmSdk } =
      require('../../lambda/jira-incident/opscenter') as typeof import('../../lambda/jira-incident/opscenter');
    expect(typeof ssmSdk().CreateOpsItemCommand).toBe('function');
    expect(loaded).toBe(1);
  });
});
