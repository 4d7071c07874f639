/**
 * `npm run bench`: synth time against an empty CDK app (the floor), templates and dashboards against their
 * limits at 3, 50, 200 and 1,000 accounts with the alarms' monthly price, and the incident handler (bundle,
 * module init, warm latency against the local JIRA-compatible server, worst case with a 429 and a 503).
 * Prints tables and writes docs/benchmarks.md. A script, not a test: numbers depend on the machine.
 *
 *   npm run bench -- [--runs 5] [--skip synth,scale,handler]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { generatedMembers, LIMITS, measureScale, monthlyCost, PRICES, ScaleReport } from './lib/scale';
import { formatTable } from './lib/table';
import { benchHandler, HandlerBench } from './lib/handler-bench';
import { EXAMPLE_CONFIG } from '../lib/config';

const root = path.join(__dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, skip: { type: 'string', default: '' }, help: { type: 'boolean' } },
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run bench -- [--runs N] [--skip synth,scale,handler]\n\nMeasures synth time (against an empty CDK app), templates and dashboards against their limits, and the incident handler; writes docs/benchmarks.md.\n',
  );
  process.exit(0);
}
const runs = Number(values.runs);
const skip = new Set(String(values.skip).split(',').filter(Boolean));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

const STRICT_FLOOR = 'floor (validation off)';
const DEFAULT_FLOOR = 'floor (CDK defaults)';

/** `cdk synth` wall times: the floor and this app with 3, 50 and 200 accounts, run alternately. */
function benchSynth() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'observability-bench-'));
  // Two floors: CDK's defaults, and with the built-in CloudFormation validation off as this app runs (bin/observability.ts;
  // cfn-lint checks the templates in CI instead). The validation plugin alone costs seconds even for one topic.
  const floorApp = (file: string, appProps: string) => {
    fs.writeFileSync(
      file,
      [
        `const { App, Stack } = require(${JSON.stringify(path.join(root, 'node_modules/aws-cdk-lib'))});`,
        `const sns = require(${JSON.stringify(path.join(root, 'node_modules/aws-cdk-lib/aws-sns'))});`,
        `const app = new App(${appProps});`,
        "new sns.Topic(new Stack(app, 'Floor'), 'Topic');",
        'app.synth();',
      ].join('\n'),
    );
    return file;
  };
  const floors: Record<string, string> = {
    [STRICT_FLOOR]: floorApp(path.join(work, 'floor.js'), '{ builtinCloudFormationValidation: false }'),
    [DEFAULT_FLOOR]: floorApp(path.join(work, 'floor-default.js'), ''),
  };
  const configs: Record<string, string | undefined> = {
    [STRICT_FLOOR]: undefined,
    [DEFAULT_FLOOR]: undefined,
    '3 accounts': undefined,
  };
  for (const n of [50, 200]) {
    const file = path.join(work, `config-${n}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...EXAMPLE_CONFIG, memberAccounts: generatedMembers(n) }));
    configs[`${n} accounts`] = file;
  }
  const cdk = path.join(root, 'node_modules/.bin/cdk');
  const synth = (name: string) => {
    const args = ['synth', '-q', '-o', path.join(work, `out-${name.replace(/\W/g, '')}`)];
    if (floors[name]) args.push('--app', `node ${floors[name]}`);
    else args.push('-c', 'environmentSuffix=bench', ...(configs[name] ? ['-c', `configFile=${configs[name]}`] : []));
    const started = process.hrtime.bigint();
    const result = spawnSync(cdk, args, { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`cdk synth (${name}) failed: ${result.stderr.slice(-2000)}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  const names = Object.keys(configs);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  names.forEach(synth); // warm caches (npx, tsx, esbuild)
  for (let i = 0; i < runs; i++) {
    for (const name of names) {
      process.stderr.write(`synth ${name} (${i + 1}/${runs})\n`);
      times[name].push(synth(name));
    }
  }
  const floorMs = median(times[STRICT_FLOOR]);
  const defaultFloorMs = median(times[DEFAULT_FLOOR]);
  return names.map((name) => ({
    name,
    median: median(times[name]),
    min: Math.min(...times[name]),
    ratio: median(times[name]) / floorMs,
    ratioDefault: median(times[name]) / defaultFloorMs,
  }));
}

const sections: string[] = [];
const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}, ${os.type()} ${os.release()}`;
sections.push(
  `# Benchmarks\n\nMeasured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${machine}. Rerun it after changes that touch synthesis or the handler's hot path, and commit the new page.\n`,
);

if (!skip.has('synth')) {
  const rows = benchSynth();
  const table = formatTable(
    ['app', 'median ms', 'min ms', 'x floor (validation off)', 'x floor (CDK defaults)'],
    rows.map((r) => [r.name, r.median.toFixed(0), r.min.toFixed(0), r.ratio.toFixed(2), r.ratioDefault.toFixed(2)]),
  );
  process.stdout.write(`${table}\n\n`);
  sections.push(
    `## \`cdk synth\` wall time (${runs} runs each, alternating)\n\nThe floor is an empty CDK app (one stack, one SNS topic, plain JavaScript) run by the same CLI and node_modules, once with CDK's defaults and once with the built-in CloudFormation validation off, as this app runs (cfn-lint checks every template in CI instead); the second is the fair comparison. This app runs under tsx, bundles two functions with esbuild and runs cdk-nag (AwsSolutions, PCI DSS 3.2.1) and the Control Tower Guard rules on every synth. Targets: 3 accounts at most 1.3x the floor, 200 accounts at most 2x.\n\n\`\`\`\n${table}\n\`\`\`\n`,
  );
}

if (!skip.has('scale')) {
  const reports: ScaleReport[] = [3, 50, 200, 1000].map((n) => {
    process.stderr.write(`synthesize ${n} accounts\n`);
    return measureScale(n);
  });
  const sizes = formatTable(
    [
      'accounts',
      'synth ms',
      'hub KB',
      'largest nested KB',
      'member KB',
      'max resources',
      'largest policy',
      'dashboards',
      'max widgets',
      'max metrics',
      'alarms (hub + members)',
      'alarms $/month',
    ],
    reports.map((r) => {
      const nested = r.templates.filter((t) => t.name.includes('.nested.'));
      return [
        String(r.accounts),
        r.synthMs.toFixed(0),
        (r.templates[0].bytes / 1000).toFixed(0),
        nested.length ? (Math.max(...nested.map((t) => t.bytes)) / 1000).toFixed(0) : '-',
        (r.templates[r.templates.length - 1].bytes / 1000).toFixed(0),
        String(Math.max(...r.templates.map((t) => t.resources))),
        `${r.largestPolicyChars} / ${LIMITS.managedPolicyChars}`,
        String(r.dashboards.length),
        String(Math.max(...r.dashboards.map((d) => d.widgets))),
        String(Math.max(...r.dashboards.map((d) => d.metrics))),
        `${r.alarms.hubMetric + r.alarms.hubComposite} + ${r.alarms.memberMetric + r.alarms.memberComposite}`,
        r.monthlyAlarmCost.toFixed(2),
      ];
    }),
  );
  process.stdout.write(`${sizes}\n\n`);
  const costRows = reports.filter((r) => r.accounts <= 200);
  const lines = costRows.map((r) => monthlyCost(r));
  const costs = formatTable(
    ['item', ...costRows.map((r) => `${r.accounts} accounts`), 'basis'],
    [
      ...lines[0].map((line, i) => [line.item, ...lines.map((l) => `$${l[i].monthly.toFixed(2)}`), line.basis]),
      ['total', ...lines.map((l) => `$${l.reduce((n, x) => n + x.monthly, 0).toFixed(2)}`), ''],
    ],
  );
  process.stdout.write(`${costs}\n\n`);
  sections.push(
    `## Scale (in-process synth, cdk-nag off)\n\nLimits: CloudFormation template ${LIMITS.templateBytes / 1e6} MB and ${LIMITS.resourcesPerTemplate} resources, IAM managed policy ${LIMITS.managedPolicyChars} characters, dashboard ${LIMITS.dashboardWidgets} widgets and ${LIMITS.dashboardMetrics} metrics.\n\n\`\`\`\n${sizes}\n\`\`\`\n\n## Monthly cost, one environment in one region (us-east-1 list prices of ${PRICES.date})\n\nExcludes what scales with the applications' own log volume (CloudWatch Logs ingestion at $0.50/GB and storage, matched Contributor Insights events). The alarms column above prices alarms alone.\n\n\`\`\`\n${costs}\n\`\`\`\n`,
  );
}

if (!skip.has('handler')) {
  void benchHandler().then((h: HandlerBench) => {
    sections.push(h.markdown);
    process.stdout.write(`${h.table}\n`);
    finish();
  });
} else {
  finish();
}

function finish() {
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.md'), `${sections.join('\n')}\n`);
  process.stderr.write('wrote docs/benchmarks.md\n');
}
