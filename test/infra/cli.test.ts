/** The app entry point as `cdk synth` runs it: context in, templates or a clear error out. */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXAMPLE_CONFIG } from '../../lib/config';

const root = path.join(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

function runApp(context: Record<string, unknown>) {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'observability-cli-'));
  const result = spawnSync(tsx, [path.join(root, 'bin', 'observability.ts')], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
  });
  return { ...result, outdir, files: fs.existsSync(outdir) ? fs.readdirSync(outdir) : [] };
}

jest.setTimeout(60_000);

test('with only a suffix it synthesizes the embedded example and says so', () => {
  const run = runApp({ environmentSuffix: 'pr42' });
  expect(run.status).toBe(0);
  expect(run.stderr).toContain('using the embedded EXAMPLE config');
  expect(run.files).toEqual(
    expect.arrayContaining([
      'MonitoringHub-pr42.template.json',
      expect.stringMatching(/^MonitoringHubpr42MemberAccount.*\.stackset\.template\.json$/),
    ]),
  );
});

test('a config file named by context is used, and its bad values fail with key, value and fix', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'observability-config-')), 'bad.json');
  fs.writeFileSync(file, JSON.stringify({ ...EXAMPLE_CONFIG, organizationId: 'org-1' }));
  const run = runApp({ environmentSuffix: 'dev', configFile: file });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('organizationId = "org-1": must be an AWS Organizations id. Fix:');
  expect(run.stderr).not.toContain('EXAMPLE');
});

test('a missing or malformed suffix fails before anything is written', () => {
  const run = runApp({ environmentSuffix: 'Prod_1' });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain('environmentSuffix = "Prod_1": must be 1-20 lowercase letters');
  expect(run.files.filter((f) => f.endsWith('.template.json'))).toEqual([]);
});
