/**
 * "Deploys" the parts of the real member template (lib/member/member-account-stack.ts, synthesized) that the
 * coverage report reads into one moto account and region: the monitoring role with its trust and managed policy,
 * the application log groups with their metric filters, and the alarms (names and composite rules as rendered;
 * metric alarms get a plain metric, since moto does not evaluate them). CloudFormation intrinsics are resolved
 * for the given parameters, pseudo parameters and conditions.
 *
 * Also: `emulateStsTrust`, which makes AssumeRole evaluate the role's trust policy (moto does that only for
 * roles in the caller's own account, and a monitoring role is always in another one).
 *
 * IAM (no IAM SDK client is installed, and the tests add no dependency) and composite alarms (moto has no
 * PutCompositeAlarm) go through moto's query API.
 */
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, CreateLogGroupCommand, PutMetricFilterCommand } from '@aws-sdk/client-cloudwatch-logs';
import { AssumeRoleCommand, STSClient, type AssumeRoleCommandInput } from '@aws-sdk/client-sts';

export interface Template {
  Parameters?: Record<string, { Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; Properties?: Record<string, unknown> }>;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const TEST_CREDENTIALS: Credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/**
 * One query-protocol call against moto in `account` (moto routes by the credential scope's service and takes the
 * account from `x-moto-account-id`); the response XML, or an error named by its Code.
 */
export async function motoQuery(
  endpoint: string,
  account: string,
  service: 'iam' | 'monitoring',
  action: string,
  params: Record<string, string>,
) {
  const version = service === 'iam' ? '2010-05-08' : '2010-08-01';
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      'x-moto-account-id': account,
    },
    body: new URLSearchParams({ Action: action, Version: version, ...params }).toString(),
  });
  const text = await res.text();
  if (!res.ok) {
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    throw Object.assign(new Error(`${service} ${action}: ${/<Message>([^<]+)<\/Message>/.exec(text)?.[1] ?? text}`), {
      name: code,
    });
  }
  return text;
}

export const iamCall = (endpoint: string, account: string, action: string, params: Record<string, string>) =>
  motoQuery(endpoint, account, 'iam', action, params);

const xmlValue = (xml: string, tag: string) => new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];

/** The name property CloudFormation returns for `Ref` of each resource type used here. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::CloudWatch::Alarm': 'AlarmName',
  'AWS::CloudWatch::CompositeAlarm': 'AlarmName',
  'AWS::IAM::Role': 'RoleName',
};

/** Resolves Ref, Fn::Join, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::GetAtt (alarm ARNs) for one account and region. */
export class Resolver {
  constructor(
    private readonly template: Template,
    private readonly values: Record<string, string>,
  ) {}

  condition(name: string): boolean {
    return this.resolve(this.template.Conditions?.[name]) === true;
  }

  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, unknown>;
    if ('Ref' in obj) return this.ref(obj.Ref as string);
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return (this.resolve(parts) as unknown[]).join(sep);
    }
    if ('Fn::If' in obj) {
      const [cond, yes, no] = obj['Fn::If'] as [string, unknown, unknown];
      return this.resolve(this.condition(cond) ? yes : no);
    }
    if ('Fn::Equals' in obj) {
      const [a, b] = this.resolve(obj['Fn::Equals']) as unknown[];
      return a === b;
    }
    if ('Fn::Not' in obj) return !(this.resolve(obj['Fn::Not']) as unknown[])[0];
    if ('Fn::And' in obj) return (this.resolve(obj['Fn::And']) as unknown[]).every(Boolean);
    if ('Fn::GetAtt' in obj) {
      const [id, attr] = obj['Fn::GetAtt'] as [string, string];
      const r = this.template.Resources[id];
      if (attr === 'Arn' && r?.Type === 'AWS::CloudWatch::Alarm') {
        return `arn:aws:cloudwatch:${this.values['AWS::Region']}:${this.values['AWS::AccountId']}:alarm:${String(this.ref(id))}`;
      }
      throw new Error(`member-stack: Fn::GetAtt ${id}.${attr} is not supported`);
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, this.resolve(v)]));
  }

  private ref(name: string): unknown {
    if (name in this.values) return this.values[name];
    const param = this.template.Parameters?.[name];
    if (param) return param.Default;
    const r = this.template.Resources[name];
    if (r?.Type === 'AWS::IAM::ManagedPolicy') {
      return `arn:aws:iam::${this.values['AWS::AccountId']}:policy/${String(this.resolve(r.Properties?.ManagedPolicyName))}`;
    }
    if (r && NAME_PROPERTY[r.Type]) return this.resolve(r.Properties?.[NAME_PROPERTY[r.Type]]);
    throw new Error(`member-stack: Ref ${name} cannot be resolved`);
  }

  /**
   * Resources of a type whose Condition holds and whose `nameProperty` starts with `prefix`, with the listed
   * properties resolved (only those: the others may use intrinsics this resolver does not know).
   */
  resources(type: string, nameProperty: string, prefix: string, properties: string[]): Record<string, unknown>[] {
    return Object.values(this.template.Resources)
      .filter((r) => r.Type === type && (!r.Condition || this.condition(r.Condition)))
      .filter((r) => String(this.resolve(r.Properties?.[nameProperty])).startsWith(prefix))
      .map((r) => Object.fromEntries(properties.map((k) => [k, this.resolve(r.Properties?.[k])])));
  }
}

export interface MemberDeployment {
  endpoint: string;
  account: string;
  region: string;
  template: Template;
  /** Template parameter values (the StackSet's parameters and per-account overrides). */
  parameters: Record<string, string>;
  /** Leave out the pieces a scenario needs missing. */
  without?: { role?: boolean; metricFilters?: string[]; alarms?: string[] };
}

/** Credentials in `account` (moto lets any AssumeRole switch accounts): the setup's administrator there. */
export async function adminIn(endpoint: string, account: string): Promise<Credentials> {
  const sts = new STSClient({ endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS, maxAttempts: 1 });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/OrganizationAccountAccessRole`,
        RoleSessionName: 'test-setup',
      }),
    );
    return {
      accessKeyId: out.Credentials!.AccessKeyId!,
      secretAccessKey: out.Credentials!.SecretAccessKey!,
      sessionToken: out.Credentials!.SessionToken,
    };
  } finally {
    sts.destroy();
  }
}

/** What the member stack instance creates in this account and region, as far as the coverage report reads it. */
export async function deployMemberStack(d: MemberDeployment): Promise<void> {
  const credentials = await adminIn(d.endpoint, d.account);
  const cfg = { endpoint: d.endpoint, region: d.region, credentials, maxAttempts: 1 };
  const r = new Resolver(d.template, {
    'AWS::AccountId': d.account,
    'AWS::Region': d.region,
    'AWS::Partition': 'aws',
    ...d.parameters,
  });
  const iam = (action: string, params: Record<string, string>) => iamCall(d.endpoint, d.account, action, params);
  const logs = new CloudWatchLogsClient(cfg);
  const cw = new CloudWatchClient(cfg);
  try {
    if (!d.without?.role) {
      const created = new Set<string>();
      for (const props of r.resources('AWS::IAM::ManagedPolicy', 'ManagedPolicyName', 'policy-monitoring-read-', [
        'ManagedPolicyName',
        'PolicyDocument',
      ])) {
        const out = await iam('CreatePolicy', {
          PolicyName: String(props.ManagedPolicyName),
          PolicyDocument: JSON.stringify(props.PolicyDocument),
        });
        created.add(xmlValue(out, 'Arn')!);
      }
      for (const props of r.resources('AWS::IAM::Role', 'RoleName', 'MonitoringRole-', [
        'RoleName',
        'AssumeRolePolicyDocument',
        'ManagedPolicyArns',
      ])) {
        await iam('CreateRole', {
          RoleName: String(props.RoleName),
          AssumeRolePolicyDocument: JSON.stringify(props.AssumeRolePolicyDocument),
        });
        for (const arn of (props.ManagedPolicyArns as string[] | undefined) ?? []) {
          if (!created.has(arn))
            throw new Error(`member-stack: ${String(props.RoleName)} attaches ${arn}, which was not created`);
          await iam('AttachRolePolicy', { RoleName: String(props.RoleName), PolicyArn: arn });
        }
      }
    }
    for (const props of r.resources('AWS::Logs::LogGroup', 'LogGroupName', '/observability/app/', ['LogGroupName'])) {
      await logs.send(new CreateLogGroupCommand({ logGroupName: String(props.LogGroupName) }));
    }
    for (const props of r.resources('AWS::Logs::MetricFilter', 'FilterName', '', [
      'LogGroupName',
      'FilterName',
      'FilterPattern',
      'MetricTransformations',
    ])) {
      if (d.without?.metricFilters?.includes(String(props.FilterName))) continue;
      const transformations = props.MetricTransformations as {
        MetricName: string;
        MetricNamespace: string;
        MetricValue: string;
        DefaultValue?: number;
      }[];
      await logs.send(
        new PutMetricFilterCommand({
          logGroupName: String(props.LogGroupName),
          filterName: String(props.FilterName),
          filterPattern: String(props.FilterPattern),
          metricTransformations: transformations.map((t) => ({
            metricName: t.MetricName,
            metricNamespace: t.MetricNamespace,
            metricValue: t.MetricValue,
            defaultValue: t.DefaultValue,
          })),
        }),
      );
    }
    for (const props of r.resources('AWS::CloudWatch::Alarm', 'AlarmName', '', ['AlarmName'])) {
      const name = String(props.AlarmName);
      if (d.without?.alarms?.includes(name)) continue;
      await cw.send(
        new PutMetricAlarmCommand({
          AlarmName: name,
          Namespace: 'Observability/Payments',
          MetricName: 'ErrorCount',
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'breaching',
        }),
      );
      await cw.send(
        new SetAlarmStateCommand({ AlarmName: name, StateValue: 'OK', StateReason: 'evaluated (test setup)' }),
      );
    }
    for (const props of r.resources('AWS::CloudWatch::CompositeAlarm', 'AlarmName', '', ['AlarmName', 'AlarmRule'])) {
      const name = String(props.AlarmName);
      if (d.without?.alarms?.includes(name)) continue;
      // moto has no PutCompositeAlarm: its PutMetricAlarm takes AlarmRule (a query parameter the SDK would drop).
      await motoQuery(d.endpoint, d.account, 'monitoring', 'PutMetricAlarm', {
        AlarmName: name,
        AlarmRule: String(props.AlarmRule),
      });
    }
  } finally {
    logs.destroy();
    cw.destroy();
  }
}

export interface TrustContext {
  endpoint: string;
  /** The caller: the hub account and the organization it belongs to (the `aws:PrincipalOrgID` of its requests). */
  callerAccount: string;
  callerOrganizationId: string;
}

type Statement = {
  Effect: string;
  Action: string | string[];
  Principal?: { AWS?: string | string[] };
  Condition?: Record<string, Record<string, string>>;
};

/** Whether the role's trust policy admits this AssumeRole request (Allow statements, StringEquals conditions). */
export function trustAdmits(
  trust: { Statement: Statement[] },
  request: AssumeRoleCommandInput,
  ctx: TrustContext,
): boolean {
  const context: Record<string, string | undefined> = {
    'sts:ExternalId': request.ExternalId,
    'aws:PrincipalOrgID': ctx.callerOrganizationId,
  };
  return trust.Statement.some((s) => {
    if (s.Effect !== 'Allow' || ![s.Action].flat().includes('sts:AssumeRole')) return false;
    const principals = [s.Principal?.AWS ?? []].flat();
    if (!principals.some((p) => p === ctx.callerAccount || p === `arn:aws:iam::${ctx.callerAccount}:root`))
      return false;
    return Object.entries(s.Condition ?? {}).every(([operator, keys]) => {
      if (operator !== 'StringEquals')
        throw new Error(`emulateStsTrust: condition operator ${operator} is not emulated`);
      return Object.entries(keys).every(([key, want]) => context[key] !== undefined && context[key] === want);
    });
  });
}

/**
 * AssumeRole through this client first reads the role (in its own account) and evaluates its trust policy as STS
 * does; a missing role or a trust that does not admit the request is the AccessDenied STS returns.
 */
export function emulateStsTrust(sts: STSClient, ctx: TrustContext): void {
  sts.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'AssumeRoleCommand') return next(args);
      const input = args.input as AssumeRoleCommandInput;
      const [, , , , account, resource] = (input.RoleArn ?? '').split(':');
      const roleName = resource?.replace(/^role\//, '');
      let admitted = false;
      try {
        const role = await iamCall(ctx.endpoint, account, 'GetRole', { RoleName: roleName ?? '' });
        const trust = JSON.parse(decodeURIComponent(xmlValue(role, 'AssumeRolePolicyDocument')!)) as {
          Statement: Statement[];
        };
        admitted = trustAdmits(trust, input, ctx);
      } catch (err) {
        if ((err as Error).name !== 'NoSuchEntity') throw err;
      }
      if (!admitted) {
        throw Object.assign(
          new Error(
            `User: arn:aws:sts::${ctx.callerAccount}:assumed-role/operator/coverage is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
          ),
          { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } },
        );
      }
      return next(args);
    },
    { step: 'initialize', name: 'emulateStsTrust' },
  );
}
