import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { InvalidEventError } from './errors';
import { multiLine, singleLine } from './text';

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
export type AlarmType = 'single' | 'metricMath' | 'anomaly' | 'composite';
export type InputKind = 'eventbridge' | 'sns' | 'lambda-action';

export const ALARM_TYPE_LABEL: Record<AlarmType, string> = {
  single: 'metric alarm',
  metricMath: 'metric math alarm',
  anomaly: 'anomaly detection alarm',
  composite: 'composite alarm',
};

/** One alarm state change, whichever way it arrived. */
export interface AlarmStateChange {
  /** Id of this delivery (EventBridge `id`, SNS `MessageId`, derived for Lambda alarm actions): logs and tracing only. */
  readonly eventId: string;
  /**
   * Idempotency key of the state change itself: the same for every path that delivers it (EventBridge, SNS,
   * Lambda alarm action), from (accountId, region, alarmName, newState, state time). See stateChangeId().
   */
  readonly changeId: string;
  readonly input: InputKind;
  readonly alarmName: string;
  readonly alarmArn: string;
  readonly accountId: string;
  readonly region: string;
  readonly newState: AlarmState;
  readonly previousState?: AlarmState;
  readonly reason: string;
  readonly reasonData?: string;
  /** ISO 8601 (UTC) time of the new state, as the alarm's own account and region recorded it. */
  readonly timestamp: string;
  /** `timestamp` in epoch milliseconds: what orders the state changes of one alarm. */
  readonly stateAtMs: number;
  readonly description?: string;
  readonly alarmType: AlarmType;
  /** Composite alarms: the rule, e.g. `ALARM(a) AND ALARM(b)`. */
  readonly alarmRule?: string;
  /** Human-readable metric lines, e.g. `AWS/EC2 CPUUtilization InstanceId=i-1 Average/300s`. */
  readonly metrics: readonly string[];
  /** Composite action suppression (`Alarm`, `WaitPeriod`, `ExtensionPeriod`), when actions are suppressed. */
  readonly suppressedBy?: string;
  readonly suppressedReason?: string;
  /**
   * Set when a maintenance window muted this ALARM and its ticket opens now, at the window's end (the issue's
   * description and the storm comment say so). Never part of an event: set by maintenance.ts.
   */
  readonly heldBack?: { readonly window: string; readonly endedAt: string };
}

/** Source of the synthetic events this product puts on its own bus (lib/hub/incident-pipeline.ts PRODUCT_EVENT_SOURCE). */
export const PRODUCT_EVENT_SOURCE = 'observability.hub';
/** Detail type of the end of a maintenance window (lib/hub/maintenance-windows.ts). */
export const MAINTENANCE_WINDOW_ENDED = 'Maintenance Window Ended';
/** Detail type of the handler's own delayed message: an OK's resolve is due (its grace period passed). */
export const RESOLVE_DUE = 'Incident Resolve Due';

/** The scheduled alert-path heartbeat (lib/hub/alert-path-heartbeat.ts): a synthetic state change that pages nobody. */
export interface HeartbeatEvent {
  readonly kind: 'heartbeat';
  readonly eventId: string;
  readonly alarmName: string;
  /** The schedule's time (`<aws.scheduler.scheduled-time>`), when the event carries one. */
  readonly scheduledAt?: string;
}

/** A maintenance window's occurrence ended (its end schedule fired). */
export interface MaintenanceEndedEvent {
  readonly kind: 'maintenance-ended';
  readonly eventId: string;
  readonly window: string;
  readonly endedAt: string;
  readonly endedAtMs: number;
}

/** An OK's grace period passed: resolve its incident unless a newer ALARM came (README "Resolve grace period"). */
export interface ResolveDueEvent {
  readonly kind: 'resolve-due';
  readonly eventId: string;
  readonly accountId: string;
  readonly region: string;
  readonly alarmName: string;
  readonly alarmArn: string;
  /** The OK's state change. */
  readonly changeId: string;
  readonly stateAt: string;
  readonly stateAtMs: number;
  /** The incident's issue when the OK was handled (an umbrella issue when `umbrella` is set). */
  readonly issueKey: string;
  readonly umbrella?: string;
  readonly dueAt: string;
  readonly graceSeconds: number;
}

export type ProductEvent = HeartbeatEvent | MaintenanceEndedEvent | ResolveDueEvent;

export type SnsRecordResult =
  { readonly change: AlarmStateChange } | { readonly ignored: string } | { readonly error: InvalidEventError };

export type ParsedEvent =
  | { readonly kind: 'change'; readonly change: AlarmStateChange }
  | { readonly kind: 'sns'; readonly records: readonly SnsRecordResult[] }
  | { readonly kind: 'product'; readonly event: ProductEvent }
  | { readonly kind: 'ignored'; readonly reason: string };

/** Limits that keep a hostile or broken event from producing huge tickets, emails or keys. */
const MAX_REASON = 4000;
const MAX_REASON_DATA = 4000;
const MAX_DESCRIPTION = 4000;
const MAX_RULE = 2000;
const MAX_METRIC_LINES = 10;

const STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;
const ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';
const REGION_CODE = /^[a-z]{2}(-[a-z]+)+-\d+$/;

function matching(pattern: RegExp, expectation: string) {
  return z.string().check(
    z.superRefine((value: string, ctx) => {
      if (!pattern.test(value)) ctx.addIssue({ code: 'custom', message: `expected ${expectation}`, input: value });
    }),
  );
}

// CloudWatch alarm names are 1-255 characters; the name is part of the incident key, so it is not truncated.
const alarmName = z.string().check(z.minLength(1), z.maxLength(255));
const accountId = matching(/^\d{12}$/, 'a 12-digit AWS account id');
const regionCode = matching(REGION_CODE, 'an AWS region code such as us-east-1');
const stateValue = z.enum(STATES);
const timestamp = z.string().check(
  z.superRefine((value: string, ctx) => {
    if (Number.isNaN(Date.parse(value))) {
      ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 timestamp', input: value });
    }
  }),
);

const stateSchema = z.object({
  value: stateValue,
  reason: z.string(),
  reasonData: z.optional(z.string()),
  timestamp,
  actionsSuppressedBy: z.optional(z.nullable(z.string())),
  actionsSuppressedReason: z.optional(z.nullable(z.string())),
});
const previousStateSchema = z.object({ value: stateValue, timestamp: z.optional(z.string()) });

const metricSchema = z.looseObject({
  id: z.optional(z.string()),
  expression: z.optional(z.string()),
  label: z.optional(z.string()),
  metricStat: z.optional(
    z.looseObject({
      metric: z.optional(
        z.looseObject({
          namespace: z.optional(z.string()),
          name: z.optional(z.string()),
          dimensions: z.optional(z.record(z.string(), z.unknown())),
        }),
      ),
      period: z.optional(z.number()),
      stat: z.optional(z.string()),
    }),
  ),
});

const configurationSchema = z.optional(
  z.looseObject({
    description: z.optional(z.nullable(z.string())),
    metrics: z.optional(z.array(metricSchema)),
    alarmRule: z.optional(z.string()),
  }),
);

const eventBridgeSchema = z.object({
  id: z.string().check(z.minLength(1)),
  account: accountId,
  region: regionCode,
  resources: z.optional(z.array(z.string())),
  detail: z.object({
    alarmName,
    state: stateSchema,
    previousState: z.optional(previousStateSchema),
    configuration: configurationSchema,
  }),
});

const lambdaActionSchema = z.object({
  alarmArn: matching(/^arn:[\w-]+:cloudwatch:[\w-]+:\d{12}:alarm:.+$/s, 'a CloudWatch alarm ARN'),
  accountId,
  region: regionCode,
  alarmData: z.object({
    alarmName,
    state: stateSchema,
    previousState: z.optional(previousStateSchema),
    configuration: configurationSchema,
  }),
});

const snsTriggerMetricSchema = z.looseObject({
  Id: z.optional(z.string()),
  Expression: z.optional(z.string()),
  Label: z.optional(z.string()),
  MetricStat: z.optional(
    z.looseObject({
      Metric: z.optional(
        z.looseObject({
          Namespace: z.optional(z.string()),
          MetricName: z.optional(z.string()),
          Dimensions: z.optional(
            z.array(z.looseObject({ name: z.optional(z.string()), value: z.optional(z.unknown()) })),
          ),
        }),
      ),
      Period: z.optional(z.number()),
      Stat: z.optional(z.string()),
    }),
  ),
});

const snsAlarmSchema = z.object({
  AlarmName: alarmName,
  AlarmDescription: z.optional(z.nullable(z.string())),
  AWSAccountId: accountId,
  NewStateValue: stateValue,
  OldStateValue: z.optional(stateValue),
  NewStateReason: z.string(),
  StateChangeTime: timestamp,
  Region: z.string().check(z.minLength(1)),
  AlarmArn: z.optional(z.string()),
  AlarmRule: z.optional(z.nullable(z.string())),
  Trigger: z.optional(
    z.nullable(
      z.looseObject({
        MetricName: z.optional(z.string()),
        Namespace: z.optional(z.string()),
        Statistic: z.optional(z.string()),
        ExtendedStatistic: z.optional(z.string()),
        Period: z.optional(z.number()),
        Dimensions: z.optional(
          z.array(z.looseObject({ name: z.optional(z.string()), value: z.optional(z.unknown()) })),
        ),
        Metrics: z.optional(z.array(snsTriggerMetricSchema)),
        ThresholdMetricId: z.optional(z.string()),
      }),
    ),
  ),
});

const snsRecordSchema = z.object({
  Sns: z.object({ MessageId: z.string().check(z.minLength(1)), Message: z.string() }),
});

type MetricInput = z.infer<typeof metricSchema>;
type StateInput = z.infer<typeof stateSchema>;

/** Classifies and validates any handler input. Throws InvalidEventError for a broken alarm state change. */
export function parseEvent(event: unknown): ParsedEvent {
  if (!isObject(event)) {
    throw new InvalidEventError(`event: expected a JSON object, got ${describe(event)}`);
  }
  if ('Records' in event) return parseRecords(event.Records);
  if (event.source === 'aws.cloudwatch' && 'alarmData' in event) {
    return { kind: 'change', change: parseLambdaAction(event) };
  }
  const detailType = event['detail-type'];
  if (typeof detailType === 'string') {
    if (event.source === PRODUCT_EVENT_SOURCE) return parseProductEvent(event, detailType);
    if (detailType !== ALARM_STATE_CHANGE) {
      return { kind: 'ignored', reason: `detail-type '${singleLine(detailType, 100)}' is not handled` };
    }
    if (event.source !== 'aws.cloudwatch') {
      return { kind: 'ignored', reason: `source '${singleLine(String(event.source), 100)}' is not aws.cloudwatch` };
    }
    return { kind: 'change', change: parseEventBridge(event) };
  }
  return { kind: 'ignored', reason: 'not an EventBridge event, SNS notification or CloudWatch alarm action' };
}

const maintenanceEndedSchema = z.object({
  id: z.optional(z.string()),
  detail: z.object({ window: z.string().check(z.minLength(1), z.maxLength(64)), endedAt: timestamp }),
});

const resolveDueSchema = z.object({
  id: z.string().check(z.minLength(1)),
  detail: z.object({
    accountId,
    region: regionCode,
    alarmName,
    alarmArn: z.string().check(z.minLength(1), z.maxLength(2048)),
    changeId: matching(/^sc-[0-9a-f]{40}$/, 'a state change id sc-<40 hex digits>'),
    stateAt: timestamp,
    stateAtMs: z.number(),
    issueKey: matching(/^[A-Z][A-Z0-9_]*-\d+$/, 'a JIRA issue key'),
    umbrella: z.optional(z.string().check(z.maxLength(64))),
    dueAt: timestamp,
    graceSeconds: z.number(),
  }),
});

/**
 * The product's own events (source observability.hub): the alert-path heartbeat, the end of a maintenance window,
 * and the handler's delayed "resolve due" message. Anything else from that source is ignored with a reason.
 */
function parseProductEvent(event: Record<string, unknown>, detailType: string): ParsedEvent {
  const detail = isObject(event.detail) ? event.detail : {};
  const eventId = typeof event.id === 'string' && event.id !== '' ? event.id : 'no-id';
  if (detailType === ALARM_STATE_CHANGE) {
    if (detail.heartbeat !== true) {
      return {
        kind: 'ignored',
        reason: `a state change from ${PRODUCT_EVENT_SOURCE} that is not a heartbeat is not handled`,
      };
    }
    // Lenient on purpose: whatever else the schedule put in, the heartbeat runs (a missing metric, not a dead letter,
    // is how a broken heartbeat shows).
    const state = isObject(detail.state) ? detail.state : {};
    return {
      kind: 'product',
      event: {
        kind: 'heartbeat',
        eventId,
        alarmName: typeof detail.alarmName === 'string' ? singleLine(detail.alarmName, 255) : 'heartbeat',
        scheduledAt: typeof state.timestamp === 'string' ? singleLine(state.timestamp, 64) : undefined,
      },
    };
  }
  if (detailType === MAINTENANCE_WINDOW_ENDED) {
    const e = validate(maintenanceEndedSchema, event, '', `${MAINTENANCE_WINDOW_ENDED} event`);
    return {
      kind: 'product',
      event: {
        kind: 'maintenance-ended',
        eventId,
        window: e.detail.window,
        endedAt: new Date(Date.parse(e.detail.endedAt)).toISOString(),
        endedAtMs: Date.parse(e.detail.endedAt),
      },
    };
  }
  if (detailType === RESOLVE_DUE) {
    const d = validate(resolveDueSchema, event, '', `${RESOLVE_DUE} message`).detail;
    return { kind: 'product', event: { kind: 'resolve-due', eventId, ...d } };
  }
  return {
    kind: 'ignored',
    reason: `detail-type '${singleLine(detailType, 100)}' of ${PRODUCT_EVENT_SOURCE} is not handled`,
  };
}

function parseRecords(records: unknown): ParsedEvent {
  if (!Array.isArray(records)) throw new InvalidEventError(`Records: expected array, got ${describe(records)}`);
  const first: unknown = records[0];
  const source = isObject(first) ? first.EventSource : undefined;
  if (source !== 'aws:sns') {
    return { kind: 'ignored', reason: `Records from '${singleLine(String(source), 100)}' are not handled` };
  }
  return { kind: 'sns', records: records.map((record: unknown, i) => parseSnsRecord(record, i)) };
}

function parseSnsRecord(record: unknown, index: number): SnsRecordResult {
  const at = `Records[${index}]`;
  try {
    const envelope = validate(snsRecordSchema, record, at, 'SNS record');
    let message: unknown;
    try {
      message = JSON.parse(envelope.Sns.Message);
    } catch {
      return { ignored: `${at}: SNS message is not JSON, so not a CloudWatch alarm notification` };
    }
    if (!isObject(message) || !('AlarmName' in message || 'NewStateValue' in message)) {
      return { ignored: `${at}: SNS message is not a CloudWatch alarm notification` };
    }
    const m = validate(snsAlarmSchema, message, `${at}.Sns.Message`, 'CloudWatch alarm notification');
    const arnRegion = m.AlarmArn?.split(':')[3];
    const region = arnRegion && REGION_CODE.test(arnRegion) ? arnRegion : singleLine(m.Region, 64);
    const metrics = snsMetricLines(m.Trigger ?? undefined);
    const expressions = (m.Trigger?.Metrics ?? []).map((x) => x.Expression ?? '');
    const stateAtMs = Date.parse(m.StateChangeTime);
    return {
      change: {
        eventId: envelope.Sns.MessageId,
        changeId: stateChangeId(m.AWSAccountId, region, m.AlarmName, m.NewStateValue, stateAtMs),
        input: 'sns',
        alarmName: m.AlarmName,
        alarmArn: m.AlarmArn ?? `arn:aws:cloudwatch:${region}:${m.AWSAccountId}:alarm:${m.AlarmName}`,
        accountId: m.AWSAccountId,
        region,
        newState: m.NewStateValue,
        previousState: m.OldStateValue,
        reason: multiLine(m.NewStateReason, MAX_REASON),
        timestamp: new Date(stateAtMs).toISOString(),
        stateAtMs,
        description: optionalText(m.AlarmDescription, MAX_DESCRIPTION),
        alarmType: classify(m.AlarmRule ?? undefined, expressions, m.Trigger?.ThresholdMetricId),
        alarmRule: optionalText(m.AlarmRule, MAX_RULE),
        metrics,
      },
    };
  } catch (err) {
    if (err instanceof InvalidEventError) return { error: err };
    throw err;
  }
}

function parseEventBridge(event: Record<string, unknown>): AlarmStateChange {
  const e = validate(eventBridgeSchema, event, '', ALARM_STATE_CHANGE + ' event');
  const d = e.detail;
  const arn = e.resources?.find((r) => r.includes(':alarm:'));
  return {
    eventId: e.id,
    input: 'eventbridge',
    alarmArn: arn ?? `arn:aws:cloudwatch:${e.region}:${e.account}:alarm:${d.alarmName}`,
    ...common(d.alarmName, e.account, e.region, d.state, d.previousState?.value, d.configuration),
  };
}

function parseLambdaAction(event: Record<string, unknown>): AlarmStateChange {
  const e = validate(lambdaActionSchema, event, '', 'CloudWatch alarm action event');
  const d = e.alarmData;
  // The action event has no delivery id: the alarm and its state timestamp identify the state change.
  const digest = createHash('sha256').update(`${e.alarmArn}\n${d.state.value}\n${d.state.timestamp}`).digest('hex');
  return {
    eventId: `action-${digest.slice(0, 40)}`,
    input: 'lambda-action',
    alarmArn: e.alarmArn,
    ...common(d.alarmName, e.accountId, e.region, d.state, d.previousState?.value, d.configuration),
  };
}

function common(
  name: string,
  account: string,
  region: string,
  state: StateInput,
  previous: AlarmState | undefined,
  configuration: z.infer<typeof configurationSchema>,
) {
  const metrics = configuration?.metrics ?? [];
  const suppressedBy =
    state.actionsSuppressedBy && state.actionsSuppressedBy !== 'None' ? state.actionsSuppressedBy : undefined;
  const stateAtMs = Date.parse(state.timestamp);
  return {
    changeId: stateChangeId(account, region, name, state.value, stateAtMs),
    alarmName: name,
    accountId: account,
    region,
    newState: state.value,
    previousState: previous,
    reason: multiLine(state.reason, MAX_REASON),
    reasonData: optionalText(state.reasonData, MAX_REASON_DATA),
    timestamp: new Date(stateAtMs).toISOString(),
    stateAtMs,
    description: optionalText(configuration?.description, MAX_DESCRIPTION),
    alarmType: classify(
      configuration?.alarmRule,
      metrics.map((m) => m.expression ?? ''),
    ),
    alarmRule: optionalText(configuration?.alarmRule, MAX_RULE),
    metrics: metrics.slice(0, MAX_METRIC_LINES).map(metricLine),
    suppressedBy: suppressedBy ? singleLine(suppressedBy, 64) : undefined,
    suppressedReason: suppressedBy ? optionalText(state.actionsSuppressedReason, 500) : undefined,
  };
}

/**
 * The identity of a state change, whichever path delivered it: EventBridge, SNS and the Lambda alarm action
 * all carry the alarm's account, region, name, new state and state time (`state.timestamp` /
 * `StateChangeTime`, set once by the CloudWatch that evaluates the alarm). Delivery ids differ per path
 * and per redelivery, so they cannot deduplicate.
 */
export function stateChangeId(
  accountId: string,
  region: string,
  alarmName: string,
  state: AlarmState,
  stateAtMs: number,
): string {
  const digest = createHash('sha256')
    .update([accountId, region, alarmName, state, String(stateAtMs)].join('\n'))
    .digest('hex');
  return `sc-${digest.slice(0, 40)}`;
}

/** Console deep link to the alarm (in the alarm's own account and region), when the region is a real code. */
export function alarmConsoleUrl(change: AlarmStateChange): string | undefined {
  if (!REGION_CODE.test(change.region)) return undefined;
  const r = change.region;
  return `https://${r}.console.aws.amazon.com/cloudwatch/home?region=${r}#alarmsV2:alarm/${encodeURIComponent(change.alarmName)}`;
}

function classify(
  alarmRule: string | undefined,
  expressions: readonly string[],
  thresholdMetricId?: string,
): AlarmType {
  if (alarmRule) return 'composite';
  if (thresholdMetricId || expressions.some((x) => /ANOMALY_DETECTION_BAND\s*\(/i.test(x))) return 'anomaly';
  if (expressions.some((x) => x.trim() !== '')) return 'metricMath';
  return 'single';
}

function metricLine(m: MetricInput): string {
  if (m.expression) return singleLine(`${m.id ?? 'expression'} = ${m.expression}`, 300);
  const metric = m.metricStat?.metric;
  const dims = Object.entries(metric?.dimensions ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
  const stat = m.metricStat ? `${m.metricStat.stat ?? ''}/${m.metricStat.period ?? '?'}s` : '';
  return singleLine(`${metric?.namespace ?? ''} ${metric?.name ?? m.id ?? ''} ${dims} ${stat}`, 300);
}

function snsMetricLines(trigger: z.infer<typeof snsAlarmSchema>['Trigger'] | undefined): string[] {
  if (!trigger) return [];
  if (trigger.Metrics) {
    return trigger.Metrics.slice(0, MAX_METRIC_LINES).map((m) => {
      if (m.Expression) return singleLine(`${m.Id ?? 'expression'} = ${m.Expression}`, 300);
      const metric = m.MetricStat?.Metric;
      const dims = (metric?.Dimensions ?? []).map((d) => `${d.name}=${String(d.value)}`).join(',');
      return singleLine(
        `${metric?.Namespace ?? ''} ${metric?.MetricName ?? ''} ${dims} ${m.MetricStat?.Stat ?? ''}/${m.MetricStat?.Period ?? '?'}s`,
        300,
      );
    });
  }
  if (!trigger.MetricName) return [];
  const dims = (trigger.Dimensions ?? []).map((d) => `${d.name}=${String(d.value)}`).join(',');
  const stat = trigger.Statistic ?? trigger.ExtendedStatistic ?? '';
  return [
    singleLine(`${trigger.Namespace ?? ''} ${trigger.MetricName} ${dims} ${stat}/${trigger.Period ?? '?'}s`, 300),
  ];
}

function optionalText(value: string | null | undefined, max: number): string | undefined {
  const text = value ? multiLine(value, max).trim() : '';
  return text === '' ? undefined : text;
}

function validate<T>(schema: z.ZodMiniType<T>, value: unknown, at: string, what: string): T {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const path = formatPath(at, issue.path);
    return `${path || '(root)'}: ${explain(issue)}`;
  });
  throw new InvalidEventError(`Invalid ${what}: ${problems.join('; ')}`);
}

function explain(issue: z.core.$ZodIssue): string {
  const got = `got ${describe(issue.input)}`;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}, ${got}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, ${got}`;
    case 'too_small':
      return `expected at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}, ${got}`;
    case 'too_big':
      return `expected at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'items'}, ${got}`;
    default:
      return `${issue.message}, ${got}`;
  }
}

function formatPath(at: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    at,
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    return value.length > 60 ? `a string of ${value.length} characters` : JSON.stringify(singleLine(value, 60));
  }
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
