import { runCommand, UsageError } from '../../scripts/lib/cli';
import { captureOutput } from './support';

describe('runCommand: exit codes and messages', () => {
  test.each([
    [async () => 0, 0, ''],
    [async () => 1, 1, ''],
    [
      async () => {
        throw new UsageError('--x is wrong. Fix: y');
      },
      2,
      'tool: --x is wrong. Fix: y\n',
    ],
    [
      async () => {
        throw Object.assign(new Error('Could not load credentials from any providers'), {
          name: 'CredentialsProviderError',
        });
      },
      2,
      'tool: no usable AWS credentials (CredentialsProviderError: Could not load credentials from any providers). Fix: sign in to the hub account, e.g. aws sso login --profile <name>, then pass --profile <name> or set AWS_PROFILE\n',
    ],
    [
      async () => {
        throw Object.assign(new Error('The security token included in the request is expired'), {
          name: 'ExpiredTokenException',
        });
      },
      2,
      'tool: no usable AWS credentials (ExpiredTokenException: The security token included in the request is expired). Fix: sign in',
    ],
    [
      async () => {
        throw Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' });
      },
      1,
      'tool: failed: AccessDeniedException: User is not authorized\n',
    ],
  ])('%#', async (body, code, stderr) => {
    const out = captureOutput();
    expect(await runCommand('tool', out, body)).toBe(code);
    expect(out.stderr().startsWith(stderr)).toBe(true);
  });
});
