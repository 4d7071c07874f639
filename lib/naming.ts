import { Token } from 'aws-cdk-lib';

/**
 * The longest physical name each resource type accepts, from the AWS service quotas.
 * The naming helper refuses to build a name over its limit, so a long suffix fails at synth, not at deploy.
 */
export const NAME_LIMITS = {
  alarm: 255,
  archive: 48,
  bus: 256,
  composite: 255,
  dashboard: 255,
  ddb: 255,
  insight: 128,
  lambda: 64,
  role: 64,
  rule: 64,
  schedule: 64,
  canary: 255,
  heartbeat: 255,
  s3: 63,
  sink: 255,
  sns: 256,
  sqs: 80,
  ssm: 128,
  stackset: 128,
  logs: 512,
  metric: 512,
  policy: 128,
  sg: 255,
} as const;

export type ResourceType = keyof typeof NAME_LIMITS;

/** Lowercase letters, digits and inner hyphens; short enough for the tightest limit above (EventBridge archives). */
export const SUFFIX_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$/;
export const SUFFIX_MAX_LENGTH = 20;

/**
 * The one place physical names are built: `<resource-type>-<purpose>-<suffix>`.
 *
 * @example new Naming('dev').name('sns', 'alerts') // 'sns-alerts-dev'
 */
export class Naming {
  constructor(readonly suffix: string) {
    if (!SUFFIX_PATTERN.test(suffix)) {
      throw new Error(
        `environmentSuffix must be 1-${SUFFIX_MAX_LENGTH} lowercase letters, digits or inner hyphens, got '${suffix}'. ` +
          'Fix: pass e.g. -c environmentSuffix=dev',
      );
    }
  }

  /** `<type>-<purpose>-<suffix>`, checked against the type's name limit. */
  name(type: ResourceType, purpose: string): string {
    return this.checked(type, `${type}-${purpose}-${this.suffix}`);
  }

  /** A log group name: `/<prefix>/<purpose>-<suffix>`, e.g. `/aws/events/alarm-audit-dev`. */
  logGroupName(prefix: string, purpose: string): string {
    return this.checked('logs', `/${prefix}/${purpose}-${this.suffix}`);
  }

  /**
   * The cross-account role in a member account: `MonitoringRole-<AccountId>-<suffix>`.
   * The suffix lets a test environment live beside production in the same member account.
   */
  monitoringRoleName(accountId: string): string {
    return this.checked('role', `MonitoringRole-${accountId}-${this.suffix}`);
  }

  /** The SSM parameter holding the CloudWatch agent config; the agent's managed policy expects this prefix. */
  cloudWatchAgentParameterName(): string {
    return this.checked('ssm', `AmazonCloudWatch-observability-${this.suffix}`);
  }

  private checked(type: ResourceType, name: string): string {
    const length = renderedLength(name);
    if (length > NAME_LIMITS[type]) {
      throw new Error(
        `The ${type} name '${name}' is ${length} characters, over the AWS limit of ${NAME_LIMITS[type]}. ` +
          `Fix: choose a shorter environmentSuffix (now '${this.suffix}').`,
      );
    }
    return name;
  }
}

/** Pseudo parameters in a name (account id, region) render as placeholders; count them at their longest value. */
const LONGEST_TOKEN_VALUE = 14; // 'ap-southeast-4', 'ap-northeast-3'; account ids are 12

function renderedLength(name: string): number {
  if (!Token.isUnresolved(name)) return name.length;
  const tokens = name.match(/\$\{Token\[[^\]]+\]\}/g) ?? [];
  return name.length - tokens.join('').length + tokens.length * LONGEST_TOKEN_VALUE;
}
