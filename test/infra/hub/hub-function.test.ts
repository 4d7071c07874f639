import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Duration } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { bundleOptions, hubFunction } from '../../../lib/hub/hub-function';
import { Naming } from '../../../lib/naming';

const ALARM_ACTION_ENTRY = path.join(__dirname, '../../../lambda/alarm-action/index.ts');

test('the bundle is one CommonJS file that exports the handler and leaves the AWS SDK to the runtime', () => {
  // Inside the project, so the bundle's require('@aws-sdk/...') resolves as it does in the Lambda runtime.
  const cache = path.join(__dirname, '../../../node_modules/.cache');
  fs.mkdirSync(cache, { recursive: true });
  const out = fs.mkdtempSync(path.join(cache, 'hub-function-'));
  const result = buildSync({ ...bundleOptions(ALARM_ACTION_ENTRY, out), metafile: true });
  expect(result.errors).toEqual([]);
  expect(fs.readdirSync(out)).toEqual(['index.js']);
  const code = fs.readFileSync(path.join(out, 'index.js'), 'utf8');
  // The SDK is required at run time, not inlined.
  expect(code).toMatch(/require\("@aws-sdk\/client-sqs"\)/);
  expect(Object.keys(result.metafile!.inputs).some((f) => f.includes('node_modules/@aws-sdk/'))).toBe(false);
  const loaded = require(path.join(out, 'index.js')) as { handler?: unknown };
  expect(typeof loaded.handler).toBe('function');
});

test('synth bundles in-process (no Docker, no npx) into an asset whose hash is the bundle', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-function-src-'));
  const synth = (entryText: string, sourceMap = false) => {
    fs.writeFileSync(path.join(dir, 'index.ts'), entryText);
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'us-east-1' } });
    hubFunction(stack, {
      naming: new Naming('dev'),
      purpose: 'probe',
      ids: { logs: 'Logs', role: 'Role', function: 'Fn' },
      description: 'probe',
      roleDescription: 'probe',
      entry: path.join(dir, 'index.ts'),
      timeout: Duration.seconds(3),
      logRetention: logs.RetentionDays.ONE_MONTH,
      environment: {},
      statements: [new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: ['*'] })],
      calls: 'nothing',
      sourceMap,
    });
    const fn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0];
    return fn.Properties as {
      Handler: string;
      Code: { S3Key: string };
      Environment: { Variables: Record<string, string> };
    };
  };
  const a = synth('export const handler = async () => 1;\n');
  const same = synth('export const handler = async () => 1;\n// a comment esbuild drops\n');
  const changed = synth('export const handler = async () => 2;\n');
  expect(a.Handler).toBe('index.handler');
  expect(a.Environment?.Variables?.NODE_OPTIONS).toBeUndefined();
  expect(synth('export const handler = async () => 1;\n', true).Environment?.Variables?.NODE_OPTIONS).toBe(
    '--enable-source-maps',
  );
  // The hash follows the output: a change that bundles the same deploys nothing, a real change deploys.
  expect(same.Code.S3Key).toBe(a.Code.S3Key);
  expect(changed.Code.S3Key).not.toBe(a.Code.S3Key);
});
