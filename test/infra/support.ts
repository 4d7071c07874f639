import * as fs from 'fs';
import * as path from 'path';
import { App, NestedStack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput } from '../../lib/config';
import { MonitoringHubStack } from '../../lib/monitoring-hub-stack';

export const SUFFIX = 'dev';

export interface SynthesizedHub {
  readonly app: App;
  readonly hub: MonitoringHubStack;
  readonly hubTemplate: Template;
  /** The hub's nested stacks (account alarm shards). */
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
  const app = new App({ builtinCloudFormationValidation: false });
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
