import * as events from 'aws-cdk-lib/aws-events';
import { ObservabilityConfig } from './config';
import { Naming } from './naming';

/**
 * The product's alarm catalogue: every alarm it creates, where it lives and whether it is critical (opens a
 * JIRA ticket). The member stack, the hub, the default ticket pattern and the README table all read it, so
 * an alarm's name and meaning are defined once.
 */
export interface AlarmSpec {
  /** Purpose part of the name: `alarm-<purpose>-<suffix>` or `composite-<purpose>-<suffix>`. */
  readonly purpose: string;
  readonly kind: 'alarm' | 'composite';
  /** Where the alarm is evaluated: in every member account and region, or in the hub. */
  readonly where: 'member' | 'hub';
  readonly critical: boolean;
  /** For the README: what a state of ALARM means. */
  readonly meaning: string;
}

export const MEMBER_ALARMS = {
  errors: {
    purpose: 'errors',
    kind: 'alarm',
    where: 'member',
    critical: false,
    meaning: 'application log events with level ERROR at or above the threshold',
  },
  latency: {
    purpose: 'latency-p99',
    kind: 'alarm',
    where: 'member',
    critical: false,
    meaning: 'p99 of `latencyMs` over processed payments at or above the threshold',
  },
  throttling: {
    purpose: 'app-throttling',
    kind: 'alarm',
    where: 'member',
    critical: false,
    meaning: 'AWS calls throttled, as logged by the applications (Contributor Insights rule)',
  },
  silence: {
    purpose: 'silence',
    kind: 'alarm',
    where: 'member',
    critical: false,
    meaning: 'not a single log event in the application log groups for `silenceMinutes`',
  },
  silenceCritical: {
    purpose: 'silence-critical',
    kind: 'alarm',
    where: 'member',
    critical: true,
    meaning: 'the silence alarm of an account with `silenceIsCritical: true`',
  },
  degraded: {
    purpose: 'payments-degraded',
    kind: 'composite',
    where: 'member',
    critical: true,
    meaning: 'errors AND p99 latency both in ALARM in the same account and region',
  },
} as const satisfies Record<string, AlarmSpec>;

export const HUB_ALARMS = {
  platformErrors: {
    purpose: 'platform-errors',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'errors summed over every linked account (Metrics Insights) at or above `platformErrorCount`',
  },
  platformSlowPayments: {
    purpose: 'platform-slow-payments',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'slow payments summed over every linked account at or above `platformSlowPayments`',
  },
  platformCritical: {
    purpose: 'platform-critical',
    kind: 'composite',
    where: 'hub',
    critical: true,
    meaning: 'platform-wide errors AND slow payments: a shared cause (one umbrella issue)',
  },
  apiThrottlingErrorCode: {
    purpose: 'api-throttling-errorcode',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'AWS API calls throttled across the organization (CloudTrail `errorCode`)',
  },
  apiThrottlingRateExceeded: {
    purpose: 'api-throttling-rate-exceeded',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'AWS API calls throttled across the organization (CloudTrail `errorMessage` "Rate exceeded")',
  },
  deadLetters: {
    purpose: 'incident-dlq-not-empty',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'alarm state changes failed and wait in the dead-letter queue',
  },
  handlerErrors: {
    purpose: 'incident-handler-errors',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'the incident handler failed an invocation',
  },
  backlog: {
    purpose: 'incident-backlog',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'alarm state changes wait in the buffer queue longer than 15 minutes',
  },
  heartbeat: {
    purpose: 'alert-path-heartbeat',
    kind: 'alarm',
    where: 'hub',
    critical: false,
    meaning: 'no successful heartbeat through the whole alert path for two intervals',
  },
  canary: {
    purpose: 'canary-payments-health',
    kind: 'alarm',
    where: 'hub',
    critical: true,
    meaning: 'the Synthetics canary against the payments health URL failed (or stopped running)',
  },
} as const satisfies Record<string, AlarmSpec>;

export function alarmName(naming: Naming, spec: AlarmSpec): string {
  return naming.name(spec.kind, spec.purpose);
}

/** Names of the alarms whose state changes open JIRA tickets in this configuration. */
export function criticalAlarmNames(naming: Naming, config: ObservabilityConfig): string[] {
  const specs: AlarmSpec[] = [...Object.values(MEMBER_ALARMS), ...Object.values(HUB_ALARMS)].filter((spec) => {
    if (spec === HUB_ALARMS.canary) return config.canary !== undefined && config.canary.critical;
    return spec.critical;
  });
  return specs.map((spec) => alarmName(naming, spec));
}

/** The default `JIRA_TICKET_ALARM_PATTERN`: exactly the critical alarms of this environment. */
export function defaultTicketAlarmPattern(naming: Naming, config: ObservabilityConfig): string {
  const escaped = criticalAlarmNames(naming, config).map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `^(${escaped.join('|')})$`;
}

/**
 * Every CloudWatch alarm state change; with a suffix, only the alarms of that environment (names end with
 * `-<suffix>`; EventBridge suffix matching), for an environment that shares its accounts with another.
 */
export function alarmStateChangePattern(suffix?: string): events.EventPattern {
  return {
    source: ['aws.cloudwatch'],
    detailType: ['CloudWatch Alarm State Change'],
    ...(suffix ? { detail: { alarmName: [{ suffix: `-${suffix}` }] } } : {}),
  };
}
