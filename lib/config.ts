import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { SUFFIX_MAX_LENGTH, SUFFIX_PATTERN } from './naming';

/** The hub lives here: OAM sinks, composite alarms and the audit trail are regional and the customer fixed us-east-1. */
export const HUB_REGION = 'us-east-1';
export const MIN_MEMBER_ACCOUNTS = 3;

const ACCOUNT_ID = /^\d{12}$/;
const ORG_ID = /^o-[a-z0-9]{10,32}$/;
const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const EMAIL = /^[^\s@"'<>]+@[^\s@"'<>]+\.[A-Za-z]{2,}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,30}[a-z0-9]$/;
const PROJECT_KEY = /^[A-Z][A-Z0-9_]{1,9}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:us-east-1:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A message that names the fix; zod adds the key path and we add the value (see formatIssues). */
const fix = (what: string, example: string) => `must be ${what}. Fix: use e.g. '${example}'`;

const accountId = z.string().regex(ACCOUNT_ID, fix('a 12-digit AWS account id', '123456789012'));

const vpcSchema = z
  .object({
    vpcId: z.string().regex(VPC_ID, fix('a VPC id', 'vpc-0a1b2c3d4e5f60718')),
    cidr: z.string().regex(CIDR, fix('the VPC IPv4 CIDR block', '10.20.0.0/16')),
    subnetIds: z
      .array(z.string().regex(SUBNET_ID, fix('a subnet id', 'subnet-0a1b2c3d4e5f60718')))
      .min(1, 'must list at least one subnet for the interface endpoints. Fix: add the private subnet ids'),
  })
  .strict();

const memberAccountSchema = z
  .object({
    id: accountId,
    name: z.string().regex(NAME, fix('2-32 lowercase letters, digits or hyphens', 'payments-prod')),
    /** The account's OU; needed for per-account overrides (vpc) in service-managed mode. */
    organizationalUnitId: z.string().regex(OU_ID, fix('an organizational unit id', 'ou-ab12-cd34ef56')).optional(),
    /** Interface VPC endpoints for monitoring, logs and sns are created in this VPC; omit to skip them. */
    vpc: vpcSchema.optional(),
  })
  .strict();

const deploymentSchema = z.discriminatedUnion('permissionModel', [
  z
    .object({
      permissionModel: z.literal('SERVICE_MANAGED'),
      organizationalUnitIds: z
        .array(z.string().regex(OU_ID, fix('an organizational unit id', 'ou-ab12-cd34ef56')))
        .min(1, 'must list at least one OU. Fix: add the OU that holds the payment accounts'),
      /** true when the hub account is a StackSets delegated administrator rather than the management account. */
      delegatedAdmin: z.boolean().default(true),
      regions: z
        .array(z.string().regex(REGION, fix('an AWS region', 'us-east-1')))
        .min(1)
        .default([HUB_REGION]),
    })
    .strict(),
  z
    .object({
      permissionModel: z.literal('SELF_MANAGED'),
      /** The role CloudFormation assumes in each member account (must already exist there). */
      executionRoleName: z.string().min(1).default('AWSCloudFormationStackSetExecutionRole'),
      regions: z
        .array(z.string().regex(REGION, fix('an AWS region', 'us-east-1')))
        .min(1)
        .default([HUB_REGION]),
    })
    .strict(),
]);

const jiraSchema = z
  .object({
    baseUrl: z.string().superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        ctx.addIssue({ code: 'custom', message: fix('an absolute URL', 'https://your-site.atlassian.net') });
        return;
      }
      if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
        ctx.addIssue({
          code: 'custom',
          message: fix('an https URL (http only for loopback test servers)', 'https://your-site.atlassian.net'),
        });
      }
      if (url.pathname !== '/' || url.search || url.hash) {
        ctx.addIssue({
          code: 'custom',
          message: fix('the site root, without a path', 'https://your-site.atlassian.net'),
        });
      }
    }),
    projectKey: z.string().regex(PROJECT_KEY, fix('a JIRA project key (uppercase, 2-10 characters)', 'OPS')),
    issueType: z.string().min(1, fix('a JIRA issue type name', 'Incident')),
    /** Full ARN of the Secrets Manager secret (`{"email","apiToken"}`) the operator creates in the hub before deploying. */
    secretArn: z
      .string()
      .regex(
        SECRET_ARN,
        fix(
          'the full ARN of a Secrets Manager secret in the hub account and us-east-1 (with its 6-character suffix)',
          'arn:aws:secretsmanager:us-east-1:111111111111:secret:observability/jira-AbC123',
        ),
      ),
    /** Transition applied when an alarm returns to OK, e.g. 'Done'. */
    resolveTransition: z.string().min(1).optional(),
    /** Alarms whose name matches get a ticket; all others get email only. @default the composite alarms of this hub */
    ticketAlarmPattern: z
      .string()
      .superRefine((value, ctx) => {
        try {
          new RegExp(value);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: `must be a valid regular expression (${(e as Error).message})` });
        }
      })
      .optional(),
  })
  .strict();

const thresholdsSchema = z
  .object({
    /** Errors logged per account per 5 minutes that raise the error alarm. */
    errorCount: z.number().int().positive().default(10),
    /** p99 payment latency in milliseconds that raises the latency alarm. */
    latencyP99Ms: z.number().positive().default(2000),
    /** Throttled calls per account per 5 minutes in the application logs. */
    throttledCalls: z.number().int().positive().default(20),
    /** Throttled API calls per 5 minutes seen by the Contributor Insights rules, across all contributors. */
    throttledApiCalls: z.number().int().positive().default(50),
  })
  .strict();

export const configSchema = z
  .object({
    hubAccountId: accountId,
    organizationId: z.string().regex(ORG_ID, fix('an AWS Organizations id', 'o-a1b2c3d4e5')),
    memberAccounts: z.array(memberAccountSchema),
    deployment: deploymentSchema,
    alertEmails: z
      .array(z.string().regex(EMAIL, fix('an email address', 'payments-oncall@example.com')))
      .min(1, 'must list at least one address. Fix: add the on-call distribution list'),
    jira: jiraSchema,
    /** Application log groups created in every member account, e.g. ['payments-api']. */
    applicationLogGroups: z
      .array(z.string().regex(NAME, fix('2-32 lowercase letters, digits or hyphens', 'payments-api')))
      .min(1)
      .default(['payments-api']),
    /** External id the hub presents when assuming the member MonitoringRole. */
    externalId: z
      .string()
      .regex(/^[\w+=,.@:/-]{2,1224}$/, fix('2-1224 characters of [A-Za-z0-9+=,.@:/-_]', 'observability-hub'))
      .default('observability-hub'),
    /** CloudTrail log group in the hub (organization trail) analysed for API throttling. */
    cloudTrailLogGroupName: z.string().min(1).max(512).default('aws-controltower/CloudTrailLogs'),
    thresholds: thresholdsSchema.default({
      errorCount: 10,
      latencyP99Ms: 2000,
      throttledCalls: 20,
      throttledApiCalls: 50,
    }),
  })
  .strict()
  .superRefine((config, ctx) => {
    const ids = config.memberAccounts.map((a) => a.id);
    if (config.memberAccounts.length < MIN_MEMBER_ACCOUNTS) {
      ctx.addIssue({
        code: 'custom',
        path: ['memberAccounts'],
        message: `must list at least ${MIN_MEMBER_ACCOUNTS} member accounts, got ${ids.length}. Fix: add the payment accounts to monitor`,
      });
    }
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['memberAccounts', i, 'id'],
          message: `is a duplicate of memberAccounts[${ids.indexOf(id)}].id. Fix: list each account once`,
        });
      }
      if (id === config.hubAccountId) {
        ctx.addIssue({
          code: 'custom',
          path: ['memberAccounts', i, 'id'],
          message: 'is the hub account. Fix: remove the hub (monitoring) account from memberAccounts',
        });
      }
    });
    const secretAccount = config.jira.secretArn.split(':')[4];
    if (secretAccount !== config.hubAccountId) {
      ctx.addIssue({
        code: 'custom',
        path: ['jira', 'secretArn'],
        message: `is in account ${secretAccount}, not the hub account ${config.hubAccountId}. Fix: create the secret in the hub account`,
      });
    }
    const names = config.memberAccounts.map((a) => a.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['memberAccounts', i, 'name'],
          message: `is a duplicate of memberAccounts[${names.indexOf(name)}].name. Fix: give each account its own name`,
        });
      }
    });
    if (config.deployment.permissionModel === 'SERVICE_MANAGED') {
      const ous = config.deployment.organizationalUnitIds;
      config.memberAccounts.forEach((account, i) => {
        if (account.vpc && !account.organizationalUnitId) {
          ctx.addIssue({
            code: 'custom',
            path: ['memberAccounts', i, 'organizationalUnitId'],
            message: `is required when the account has a vpc in SERVICE_MANAGED mode (per-account overrides target OU + account). Fix: set it to one of ${ous.join(', ')}`,
          });
        }
        if (account.organizationalUnitId && !ous.includes(account.organizationalUnitId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['memberAccounts', i, 'organizationalUnitId'],
            message: `is not in deployment.organizationalUnitIds. Fix: add it there or correct the account's OU`,
          });
        }
      });
    }
  });

export type ObservabilityConfigInput = z.input<typeof configSchema>;
export type ObservabilityConfig = z.output<typeof configSchema> & { readonly environmentSuffix: string };
export type MemberAccount = ObservabilityConfig['memberAccounts'][number];

/**
 * The embedded example: made-up ids (AWS documentation style) so `cdk synth` works on a fresh clone.
 * Replace it with your organization's values in `cdk.json` (context key `observability`) or a file
 * named by `-c configFile=...`.
 */
export const EXAMPLE_CONFIG: ObservabilityConfigInput = {
  hubAccountId: '111111111111',
  organizationId: 'o-a1b2c3d4e5',
  memberAccounts: [
    {
      id: '222222222222',
      name: 'payments-prod',
      organizationalUnitId: 'ou-ab12-paym0001',
      vpc: { vpcId: 'vpc-0a1b2c3d4e5f60718', cidr: '10.20.0.0/16', subnetIds: ['subnet-0a1b2c3d4e5f60718'] },
    },
    { id: '333333333333', name: 'payments-gateway', organizationalUnitId: 'ou-ab12-paym0001' },
    { id: '444444444444', name: 'ledger', organizationalUnitId: 'ou-ab12-paym0001' },
  ],
  deployment: {
    permissionModel: 'SERVICE_MANAGED',
    organizationalUnitIds: ['ou-ab12-paym0001'],
    delegatedAdmin: true,
    regions: [HUB_REGION],
  },
  alertEmails: ['payments-oncall@example.com'],
  jira: {
    baseUrl: 'https://example.atlassian.net',
    projectKey: 'OPS',
    issueType: 'Incident',
    secretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:observability/jira-AbC123',
    resolveTransition: 'Done',
  },
  applicationLogGroups: ['payments-api'],
};

/** Thrown for any invalid configuration; the message lists every problem with key, value and fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function valueAt(input: unknown, keyPath: PropertyKey[]): unknown {
  return keyPath.reduce<unknown>(
    (node, key) =>
      node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined,
    input,
  );
}

function formatKey(keyPath: PropertyKey[]): string {
  return keyPath.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

function formatIssues(issues: z.core.$ZodIssue[], input: unknown): string {
  return issues
    .map((issue) => {
      const key = formatKey(issue.path) || '(config)';
      const value = valueAt(input, issue.path);
      const shown = value === undefined ? 'missing' : JSON.stringify(value);
      return `- ${key} = ${shown}: ${issue.message}`;
    })
    .join('\n');
}

/** Validates raw config (from context or a file) and the suffix; throws ConfigError naming every bad key. */
export function loadConfig(raw: unknown, environmentSuffix: unknown): ObservabilityConfig {
  const problems: string[] = [];
  if (typeof environmentSuffix !== 'string' || !SUFFIX_PATTERN.test(environmentSuffix)) {
    problems.push(
      `- environmentSuffix = ${environmentSuffix === undefined ? 'missing' : JSON.stringify(environmentSuffix)}: ` +
        `must be 1-${SUFFIX_MAX_LENGTH} lowercase letters, digits or inner hyphens. Fix: pass e.g. -c environmentSuffix=dev`,
    );
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(formatIssues(parsed.error.issues, raw));
  }
  if (problems.length > 0 || !parsed.success) {
    throw new ConfigError(`Invalid observability config:\n${problems.join('\n')}`);
  }
  return { ...parsed.data, environmentSuffix: environmentSuffix as string };
}

/** Reads a JSON config file named by the `configFile` context key; a clear error when it is missing or not JSON. */
export function readConfigFile(file: string, cwd = process.cwd()): unknown {
  const resolved = path.resolve(cwd, file);
  let text: string;
  try {
    text = fs.readFileSync(resolved, 'utf8');
  } catch (e) {
    throw new ConfigError(
      `configFile = "${file}": cannot be read (${(e as Error).message}). Fix: pass a path to a JSON config file`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`configFile = "${file}": is not valid JSON (${(e as Error).message}). Fix: correct the file`);
  }
}

/** The alarms that get JIRA tickets by default: the platform-wide critical composite of this hub. */
export function defaultTicketAlarmPattern(environmentSuffix: string): string {
  return `^composite-platform-critical-${environmentSuffix}$`;
}
