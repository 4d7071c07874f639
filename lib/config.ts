import * as fs from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { SUFFIX_MAX_LENGTH, SUFFIX_PATTERN } from './naming';

/** The hub lives here: OAM sinks, composite alarms and the audit trail are regional and the customer fixed us-east-1. */
export const HUB_REGION = 'us-east-1';
export const MIN_MEMBER_ACCOUNTS = 3;
/** Application metrics are published per 5 minutes; the silence window is a whole number of them. */
export const SILENCE_STEP_MINUTES = 5;

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
const OAM_SINK_ARN = /^arn:aws[a-z-]*:oam:([a-z0-9-]+):(\d{12}):sink\/[A-Za-z0-9-]+$/;
const LOG_GROUP_NAME = /^[\w\-./#]{1,512}$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** A message that names the fix; zod adds the key path and we add the value (see formatIssues). */
const fix = (what: string, example: string) => `must be ${what}. Fix: use e.g. '${example}'`;

const accountId = z.string().regex(ACCOUNT_ID, fix('a 12-digit AWS account id', '123456789012'));
const region = z.string().regex(REGION, fix('an AWS region', 'us-east-1'));
const regexString = z.string().superRefine((value, ctx) => {
  try {
    new RegExp(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: `must be a valid regular expression (${(e as Error).message})` });
  }
});
const httpsUrl = (example: string, options: { rootOnly?: boolean } = {}) =>
  z.string().superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: fix('an absolute URL', example) });
      return;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
      ctx.addIssue({ code: 'custom', message: fix('an https URL (http only for loopback test servers)', example) });
    }
    if (options.rootOnly && (url.pathname !== '/' || url.search || url.hash)) {
      ctx.addIssue({ code: 'custom', message: fix('the site root, without a path', example) });
    }
  });

/** Thresholds that can differ per member account (StackSet parameter overrides). */
const accountThresholdsSchema = z
  .object({
    /** Errors logged per account per 5 minutes that raise the error alarm. */
    errorCount: z.number().int().positive().default(10),
    /** p99 payment latency in milliseconds that raises the latency alarm. */
    latencyP99Ms: z.number().positive().default(2000),
    /** Throttled calls per account per 5 minutes in the application logs. */
    throttledCalls: z.number().int().positive().default(20),
    /** Minutes without a single log event in the application log groups that raise the silence alarm. */
    silenceMinutes: z
      .number()
      .int()
      .min(SILENCE_STEP_MINUTES)
      .max(24 * 60)
      .refine((m) => m % SILENCE_STEP_MINUTES === 0, {
        message: `must be a multiple of ${SILENCE_STEP_MINUTES} minutes. Fix: use e.g. 60`,
      })
      .default(60),
  })
  .strict();

const vpcSchema = z
  .object({
    vpcId: z.string().regex(VPC_ID, fix('a VPC id', 'vpc-0a1b2c3d4e5f60718')),
    cidr: z.string().regex(CIDR, fix('the VPC IPv4 CIDR block', '10.20.0.0/16')),
    subnetIds: z
      .array(z.string().regex(SUBNET_ID, fix('a subnet id', 'subnet-0a1b2c3d4e5f60718')))
      .min(1, 'must list at least one subnet for the interface endpoints. Fix: add the private subnet ids'),
    /** The VPC's region: endpoints are created there only (VPC ids are regional). */
    region: region.default('us-east-1'),
    /**
     * Private DNS on the endpoints. A VPC takes one private-DNS endpoint per service: set false when the
     * VPC already has endpoints with private DNS for monitoring, logs or sns.
     */
    privateDns: z.boolean().default(true),
  })
  .strict();

const memberAccountSchema = z
  .object({
    id: accountId,
    name: z.string().regex(NAME, fix('2-32 lowercase letters, digits or hyphens', 'payments-prod')),
    /** The account's OU; needed for per-account overrides in service-managed mode. */
    organizationalUnitId: z.string().regex(OU_ID, fix('an organizational unit id', 'ou-ab12-cd34ef56')).optional(),
    /** Interface VPC endpoints for monitoring, logs and sns are created in this VPC; omit to skip them. */
    vpc: vpcSchema.optional(),
    /** Per-account thresholds, over the organization-wide `thresholds`. */
    thresholds: accountThresholdsSchema.partial().strict().optional(),
    /** The account must never be quiet: its silence alarm opens a ticket instead of only emailing. */
    silenceIsCritical: z.boolean().default(false),
  })
  .strict();

const regionsSchema = z
  .array(region)
  .min(1)
  .default([HUB_REGION])
  .superRefine((regions, ctx) => {
    if (!regions.includes(HUB_REGION)) {
      ctx.addIssue({
        code: 'custom',
        message: `must include ${HUB_REGION}: the OAM link to the hub sink and the monitoring role exist only there. Fix: add '${HUB_REGION}'`,
      });
    }
    regions.forEach((r, i) => {
      if (regions.indexOf(r) !== i) {
        ctx.addIssue({ code: 'custom', path: [i], message: `lists '${r}' twice. Fix: list each region once` });
      }
    });
  });

const deploymentSchema = z.discriminatedUnion('permissionModel', [
  z
    .object({
      permissionModel: z.literal('SERVICE_MANAGED'),
      organizationalUnitIds: z
        .array(z.string().regex(OU_ID, fix('an organizational unit id', 'ou-ab12-cd34ef56')))
        .min(1, 'must list at least one OU. Fix: add the OU that holds the payment accounts'),
      /** true when the hub account is a StackSets delegated administrator rather than the management account. */
      delegatedAdmin: z.boolean().default(true),
      regions: regionsSchema,
    })
    .strict(),
  z
    .object({
      permissionModel: z.literal('SELF_MANAGED'),
      /** The role CloudFormation assumes in each member account (must already exist there). */
      executionRoleName: z.string().min(1).default('AWSCloudFormationStackSetExecutionRole'),
      regions: regionsSchema,
    })
    .strict(),
]);

const jiraSchema = z
  .object({
    baseUrl: httpsUrl('https://your-site.atlassian.net', { rootOnly: true }),
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
    /** Alarms whose name matches get a ticket; all others get email only. @default the critical alarms of this product */
    ticketAlarmPattern: regexString.optional(),
    /**
     * Upper bound of concurrent JIRA requests (the handler's SQS event source concurrency; Lambda's minimum is 2).
     * Atlassian publishes no numbers for API-token burst limits and asks clients to pace requests.
     */
    maxConcurrency: z.number().int().min(2).max(20).default(3),
    /** Alarm storms: beyond this many new issues in the window, further critical alarms go to one umbrella issue. */
    storm: z
      .object({
        maxNewIssues: z.number().int().min(1).max(100).default(5),
        windowMinutes: z.number().int().min(1).max(120).default(15),
      })
      .strict()
      .prefault({}),
  })
  .strict();

const cloudTrailSchema = z
  .object({
    /** The organization trail's CloudWatch Logs log group. */
    logGroupName: z
      .string()
      .regex(LOG_GROUP_NAME, fix('a CloudWatch Logs log group name', 'aws-controltower/CloudTrailLogs'))
      .default('aws-controltower/CloudTrailLogs'),
    /**
     * The account that holds that log group. With Control Tower it is the management account; any account other
     * than the hub must share its log groups with the hub sink (OAM link) before the hub is deployed.
     * @default the hub account
     */
    accountId: accountId.optional(),
  })
  .strict();

const WEEKDAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'] as const;

const maintenanceWindowSchema = z
  .object({
    name: z.string().regex(NAME, fix('2-32 lowercase letters, digits or hyphens', 'card-network-upgrade')),
    /** One-off window: ISO 8601 start and end. */
    start: z.iso.datetime({ offset: true }).optional(),
    end: z.iso.datetime({ offset: true }).optional(),
    /** Recurring window: every listed weekday at `startTime` (UTC, HH:MM) for `durationMinutes`. */
    weekly: z
      .object({
        days: z
          .array(z.enum(WEEKDAYS))
          .min(1)
          .default([...WEEKDAYS]),
        startTime: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, fix('a UTC time HH:MM', '02:00')),
        durationMinutes: z
          .number()
          .int()
          .min(5)
          .max(24 * 60),
      })
      .strict()
      .optional(),
    /** Member account ids the window covers. @default every account */
    accounts: z.array(accountId).min(1).optional(),
    /** Alarm names (regular expression) the window covers. @default every alarm */
    alarmNamePattern: regexString.optional(),
  })
  .strict()
  .superRefine((w, ctx) => {
    const oneOff = w.start !== undefined || w.end !== undefined;
    if (oneOff === (w.weekly !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be either one-off (start and end) or recurring (weekly). Fix: set exactly one of them',
      });
      return;
    }
    if (oneOff && (!w.start || !w.end || Date.parse(w.end) <= Date.parse(w.start))) {
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message: 'must be after start. Fix: set both, end later than start',
      });
    }
  });

export const configSchema = z
  .object({
    hubAccountId: accountId,
    organizationId: z.string().regex(ORG_ID, fix('an AWS Organizations id', 'o-a1b2c3d4e5')),
    memberAccounts: z.array(memberAccountSchema),
    deployment: deploymentSchema,
    /**
     * Reuse the telemetry foundation (OAM sink, member OAM links, VPC endpoints, CloudWatch agent association) of
     * another environment in the same accounts, usually `prod`. Absent: this environment owns the foundation.
     */
    foundation: z
      .object({
        oamSinkArn: z
          .string()
          .regex(
            OAM_SINK_ARN,
            fix(
              "the ARN of the owning environment's OAM sink",
              'arn:aws:oam:us-east-1:111111111111:sink/a1b2c3d4-5678-90ab-cdef-111111111111',
            ),
          ),
      })
      .strict()
      .optional(),
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
    /** The organization trail analysed for API throttling (Contributor Insights rules in the hub). */
    cloudTrail: cloudTrailSchema.prefault({}),
    thresholds: accountThresholdsSchema
      .extend({
        /** Throttled API calls per 5 minutes seen by the CloudTrail Contributor Insights rules, all contributors. */
        throttledApiCalls: z.number().int().positive().default(50),
        /** Errors per 5 minutes summed over every account that raise the platform errors alarm. */
        platformErrorCount: z.number().int().positive().default(100),
        /** Slow payments per 5 minutes summed over every account that raise the platform latency alarm. */
        platformSlowPayments: z.number().int().positive().default(50),
      })
      .prefault({}),
    notifications: z
      .object({
        /** State changes of non-critical alarms are emailed as one digest per window (SQS batching window). */
        digestWindowSeconds: z.number().int().min(0).max(300).default(60),
      })
      .strict()
      .prefault({}),
    /** X-Ray active tracing on the incident handler (subsegments for JIRA and AWS calls). */
    tracing: z.boolean().default(true),
    /** A CloudWatch Synthetics canary against the payments health URL. Absent: no canary. */
    canary: z
      .object({
        healthUrl: httpsUrl('https://payments.example.com/health'),
        /** Minutes between runs. */
        intervalMinutes: z.number().int().min(1).max(60).default(5),
        /** A failing canary opens a ticket (true) or only emails (false). */
        critical: z.boolean().default(true),
      })
      .strict()
      .optional(),
    /** Systems Manager OpsCenter: critical alarms also open an OpsItem. */
    opsCenter: z
      .object({ enabled: z.boolean().default(false) })
      .strict()
      .prefault({}),
    /** A synthetic alarm state change proves the alert path (bus, handler, DynamoDB, SNS, JIRA) on a schedule. */
    heartbeat: z
      .object({
        enabled: z.boolean().default(true),
        intervalMinutes: z
          .number()
          .int()
          .min(15)
          .max(12 * 60)
          .default(360),
      })
      .strict()
      .prefault({}),
    /** Planned changes: no tickets for the covered alarms while a window is open (still emailed and audited). */
    maintenanceWindows: z.array(maintenanceWindowSchema).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    const issue = (keyPath: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path: keyPath, message });
    const ids = config.memberAccounts.map((a) => a.id);
    if (config.memberAccounts.length < MIN_MEMBER_ACCOUNTS) {
      issue(
        ['memberAccounts'],
        `must list at least ${MIN_MEMBER_ACCOUNTS} member accounts, got ${ids.length}. Fix: add the payment accounts to monitor`,
      );
    }
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) {
        issue(
          ['memberAccounts', i, 'id'],
          `is a duplicate of memberAccounts[${ids.indexOf(id)}].id. Fix: list each account once`,
        );
      }
      if (id === config.hubAccountId) {
        issue(
          ['memberAccounts', i, 'id'],
          'is the hub account. Fix: remove the hub (monitoring) account from memberAccounts',
        );
      }
    });
    const secretAccount = config.jira.secretArn.split(':')[4];
    if (secretAccount !== config.hubAccountId) {
      issue(
        ['jira', 'secretArn'],
        `is in account ${secretAccount}, not the hub account ${config.hubAccountId}. Fix: create the secret in the hub account`,
      );
    }
    const names = config.memberAccounts.map((a) => a.name);
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) {
        issue(
          ['memberAccounts', i, 'name'],
          `is a duplicate of memberAccounts[${names.indexOf(name)}].name. Fix: give each account its own name`,
        );
      }
    });
    const regions = config.deployment.regions;
    config.memberAccounts.forEach((account, i) => {
      if (account.vpc && !regions.includes(account.vpc.region)) {
        issue(
          ['memberAccounts', i, 'vpc', 'region'],
          `is not in deployment.regions (${regions.join(', ')}), so no stack would create the endpoints. Fix: add the region or correct the VPC's region`,
        );
      }
    });
    if (config.deployment.permissionModel === 'SERVICE_MANAGED') {
      const ous = config.deployment.organizationalUnitIds;
      config.memberAccounts.forEach((account, i) => {
        const overridden = [
          account.vpc && 'vpc',
          account.thresholds && 'thresholds',
          account.silenceIsCritical && 'silenceIsCritical',
        ].filter(Boolean);
        if (overridden.length > 0 && !account.organizationalUnitId) {
          issue(
            ['memberAccounts', i, 'organizationalUnitId'],
            `is required when the account sets ${overridden.join(', ')} in SERVICE_MANAGED mode (per-account overrides target OU + account). Fix: set it to one of ${ous.join(', ')}`,
          );
        }
        if (account.organizationalUnitId && !ous.includes(account.organizationalUnitId)) {
          issue(
            ['memberAccounts', i, 'organizationalUnitId'],
            `is not in deployment.organizationalUnitIds. Fix: add it there or correct the account's OU`,
          );
        }
      });
    }
    if (config.foundation) {
      const [, sinkRegion, sinkAccount] = OAM_SINK_ARN.exec(config.foundation.oamSinkArn) ?? [];
      if (sinkRegion !== HUB_REGION || sinkAccount !== config.hubAccountId) {
        issue(
          ['foundation', 'oamSinkArn'],
          `is in ${sinkAccount}/${sinkRegion}; the shared sink must be the hub's (${config.hubAccountId}/${HUB_REGION}). Fix: use the sink ARN output by the owning environment's hub stack`,
        );
      }
    }
    config.maintenanceWindows.forEach((w, i) => {
      const names = config.maintenanceWindows.map((x) => x.name);
      if (names.indexOf(w.name) !== i) {
        issue(['maintenanceWindows', i, 'name'], 'is a duplicate. Fix: give each window its own name');
      }
      (w.accounts ?? []).forEach((id, j) => {
        if (!ids.includes(id)) {
          issue(
            ['maintenanceWindows', i, 'accounts', j],
            'is not in memberAccounts. Fix: list a configured member account',
          );
        }
      });
    });
  });

export type ObservabilityConfigInput = z.input<typeof configSchema>;
export type ObservabilityConfig = z.output<typeof configSchema> & { readonly environmentSuffix: string };
export type MemberAccount = ObservabilityConfig['memberAccounts'][number];
export type AccountThresholds = z.output<typeof accountThresholdsSchema>;
export type MaintenanceWindow = ObservabilityConfig['maintenanceWindows'][number];

/** Keys that were renamed: a config that still uses one gets the new name in the error. */
const RENAMED_KEYS: Record<string, string> = {
  cloudTrailLogGroupName: 'cloudTrail.logGroupName (with cloudTrail.accountId: the account that holds the log group)',
};

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
      silenceIsCritical: true,
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

function formatIssues(issues: z.core.$ZodIssue[], input: unknown): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // One line per key, named like every other problem (not the whole parent object as the "value").
      return issue.keys.map((key) => {
        const where = formatKey([...issue.path, key]);
        const renamed = issue.path.length === 0 ? RENAMED_KEYS[key] : undefined;
        return renamed
          ? `- ${where}: was renamed. Fix: use ${renamed}`
          : `- ${where}: unknown key. Fix: remove it or correct its spelling (see the configuration reference in README.md)`;
      });
    }
    const key = formatKey(issue.path) || '(config)';
    const value = valueAt(input, issue.path);
    const shown = value === undefined ? 'missing' : JSON.stringify(value);
    return [`- ${key} = ${shown}: ${issue.message}`];
  });
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
    problems.push(...formatIssues(parsed.error.issues, raw));
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

/** The thresholds of one member account: its own values over the organization-wide ones. */
export function accountThresholds(config: ObservabilityConfig, account: MemberAccount): AccountThresholds {
  const { errorCount, latencyP99Ms, throttledCalls, silenceMinutes } = config.thresholds;
  return { errorCount, latencyP99Ms, throttledCalls, silenceMinutes, ...account.thresholds };
}

/** The account that holds the CloudTrail log group the throttling rules read. */
export function cloudTrailAccount(config: ObservabilityConfig): string {
  return config.cloudTrail.accountId ?? config.hubAccountId;
}

/** Whether this environment owns the account-wide telemetry foundation (sink, links, endpoints, agent). */
export function ownsFoundation(config: ObservabilityConfig): boolean {
  return config.foundation === undefined;
}
