import * as fs from 'fs';
import * as path from 'path';
import { App, NestedStack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput } from '../../lib/config';
import { MonitoringHubStack } from '../../lib/hub/monitoring-hub-stack';
import everyFeature from '../fixtures/config/every-feature.json';

export const SUFFIX = 'dev';

/**
 * App options for template tests: no CloudFormation validation (cfn-lint runs in CI) and no esbuild bundling
 * (CDK's `aws:cdk:bundling-stacks` context: the functions get a placeholder asset). Bundling itself is covered
 * by the app's own synth (test/infra/cli.test.ts) and the handler bench.
 */
export const TEST_APP_PROPS = {
  builtinCloudFormationValidation: false,
  context: { 'aws:cdk:bundling-stacks': [] as string[] },
};

/**
 * Every optional feature switched on: a canary, OpsCenter, maintenance windows, per-account thresholds and
 * critical silence, two application log groups and a second region. Cross-cutting checks run on this too, and
 * CI synthesizes the same file (test/fixtures/config/every-feature.json) for cfn-lint.
 */
export const FULL_FEATURES = everyFeature as Partial<ObservabilityConfigInput>;

export interface SynthesizedHub {
  readonly app: App;
  readonly hub: MonitoringHubStack;
  readonly hubTemplate: Template;
  /** The hub's nested stacks (per-account dashboard pages). */
  readonly nestedTemplates: Template[];
  /** Hub and nested stacks as one template: what the hub account gets. */
  readonly hubWithNested: Template;
  readonly memberTemplate: Template;
}

/** Synthesizes the whole app from a config (the embedded example by default), cdk-nag off unless asked. */
export function synthesize(
  overrides: Partial<ObservabilityConfigInput> = {},
  options: { suffix?: string; nag?: boolean } = {},
): SynthesizedHub {
  const app = new App(TEST_APP_PROPS);
  const config = loadConfig({ ...EXAMPLE_CONFIG, ...overrides }, options.suffix ?? SUFFIX);
  const hub = addObservabilityHub(app, { config, nag: options.nag ?? false });
  const hubTemplate = Template.fromStack(hub);
  // The member stack is not a deployable artifact: it is written beside the hub as `*.stackset.template.json`.
  const assembly = app.synth();
  const memberFile = path.join(assembly.directory, hub.memberStack.templateFile);
  const nestedTemplates = hub.node
    .findAll()
    .filter(NestedStack.isNestedStack)
    .map((nested) => Template.fromStack(nested));
  // Logical ids repeat across nested stacks: prefix them with the stack's index.
  const hubWithNested = Template.fromJSON({
    Resources: Object.fromEntries(
      [hubTemplate, ...nestedTemplates].flatMap((t, i) =>
        Object.entries(t.toJSON().Resources).map(([id, r]) => [i === 0 ? id : `Nested${i}${id}`, r]),
      ),
    ),
  });
  return {
    app,
    hub,
    hubTemplate,
    nestedTemplates,
    hubWithNested,
    memberTemplate: Template.fromJSON(JSON.parse(fs.readFileSync(memberFile, 'utf8'))),
  };
}

export type Resources = Record<string, { Type: string; Properties?: Record<string, unknown>; [key: string]: unknown }>;

export function resources(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

export function ofType(template: Template, type: string): [string, Record<string, unknown>][] {
  return Object.entries(resources(template))
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/** Renders a CloudFormation value as text, with `${Ref}` / `${Logical.Attr}` placeholders for intrinsics. */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(render).join(',');
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    if ('Ref' in obj) return `\${${String(obj.Ref)}}`;
    if ('Fn::GetAtt' in obj) return `\${${(obj['Fn::GetAtt'] as string[]).join('.')}}`;
    if ('Fn::Sub' in obj) return String(obj['Fn::Sub']);
    if ('Fn::If' in obj) {
      const [condition, whenTrue, whenFalse] = obj['Fn::If'] as [string, unknown, unknown];
      return `\${If ${condition} ${render(whenTrue)} | ${render(whenFalse)}}`;
    }
  }
  return JSON.stringify(value);
}

/** Every IAM policy document in a template: identity policies, trust policies and resource policies. */
export function policyStatements(template: Template): { where: string; statement: Record<string, unknown> }[] {
  const out: { where: string; statement: Record<string, unknown> }[] = [];
  for (const [id, r] of Object.entries(resources(template))) {
    const props = r.Properties ?? {};
    const docs: [string, unknown][] = [
      ['PolicyDocument', props.PolicyDocument],
      ['AssumeRolePolicyDocument', props.AssumeRolePolicyDocument],
      ['Policy', props.Policy],
    ];
    if (r.Type === 'AWS::Events::EventBusPolicy') docs.push(['Statement', { Statement: [props.Statement] }]);
    for (const policy of (props.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) {
      docs.push(['Policies', policy.PolicyDocument]);
    }
    for (const [key, doc] of docs) {
      if (!doc) continue;
      const parsed = typeof doc === 'string' || 'Fn::Join' in (doc as object) ? JSON.parse(render(doc)) : doc;
      const statements = (parsed as { Statement?: unknown }).Statement;
      for (const statement of ([] as unknown[]).concat(statements ?? [])) {
        out.push({ where: `${id}.${key}`, statement: statement as Record<string, unknown> });
      }
    }
  }
  return out;
}

export const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** `n` member accounts in one OU, for scale tests. */
export function generatedAccounts(
  n: number,
  ou = 'ou-ab12-paym0001',
): NonNullable<ObservabilityConfigInput['memberAccounts']> {
  return Array.from({ length: n }, (_, i) => ({
    id: String(100000000000 + i),
    name: `payments-${i}`,
    organizationalUnitId: ou,
  }));
}

export interface DashboardWidget {
  type: string;
  properties: { metrics?: unknown[][]; alarms?: unknown[]; insightRule?: { maxContributorCount: number } };
}

/**
 * Metrics a widget makes CloudWatch fetch: a metric 1; a Metrics Insights query its LIMIT with GROUP BY (500,
 * CloudWatch's cap, without LIMIT), else 1; a SEARCH up to 500 (its cap); a Contributor Insights widget its
 * contributor count.
 */
export function fetchedMetrics(widget: DashboardWidget): number {
  if (widget.properties.insightRule) return widget.properties.insightRule.maxContributorCount;
  return (widget.properties.metrics ?? []).reduce((total, entry) => {
    const options = entry[entry.length - 1] as { expression?: string } | undefined;
    const expression = typeof options === 'object' && options ? options.expression : undefined;
    if (!expression) return total + 1;
    if (/SEARCH\(/.test(expression)) return total + 500;
    if (/^SELECT /.test(expression)) {
      if (!/GROUP BY/.test(expression)) return total + 1;
      return total + Number(/LIMIT (\d+)/.exec(expression)?.[1] ?? 500);
    }
    return total + 1;
  }, 0);
}

export function dashboards(template: Template): { name: string; widgets: DashboardWidget[] }[] {
  return ofType(template, 'AWS::CloudWatch::Dashboard').map(([, p]) => ({
    name: render(p.DashboardName),
    widgets: (JSON.parse(render(p.DashboardBody)) as { widgets: DashboardWidget[] }).widgets,
  }));
}
