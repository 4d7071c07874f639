import { Aws, CfnCondition, CfnElement, CfnParameter, Fn, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { StackSetStack } from 'cdk-stacksets';
import { Construct } from 'constructs';
import { HUB_REGION, ObservabilityConfig, ownsFoundation, SILENCE_STEP_MINUTES } from '../config';
import { Naming } from '../naming';
import { AccountAlarms } from './account-alarms';
import { AlarmForwarding } from './alarm-forwarding';
import { ApplicationLogMetrics } from './application-log-metrics';
import { CloudWatchAgent } from './cloudwatch-agent';
import { legacyLogicalId } from './logical-ids';
import { MonitoringEndpoints } from './monitoring-endpoints';
import { MonitoringRole } from './monitoring-role';
import { TelemetryLink } from './telemetry-link';

export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** Names of the member template's parameters: the hub sets them, per StackSet or per account. */
export const MemberParameter = {
  hubAccountId: 'HubAccountId',
  organizationId: 'OrganizationId',
  externalId: 'MonitoringExternalId',
  oamSinkArn: 'OamSinkArn',
  hubEventBusArn: 'HubEventBusArn',
  vpcId: 'VpcId',
  vpcCidr: 'VpcCidr',
  subnetIds: 'SubnetIds',
  vpcRegion: 'VpcRegion',
  vpcPrivateDns: 'VpcPrivateDns',
  agentTagKey: 'CloudWatchAgentTagKey',
  agentTagValue: 'CloudWatchAgentTagValue',
  errorThreshold: 'ErrorThreshold',
  latencyThresholdMs: 'LatencyThresholdMs',
  throttledCallsThreshold: 'ThrottledCallsThreshold',
  silencePeriods: 'SilencePeriods',
  silenceIsCritical: 'SilenceIsCritical',
} as const;

export interface MemberAccountStackProps {
  readonly config: ObservabilityConfig;
  readonly naming: Naming;
}

/**
 * Everything the hub needs inside one member account and region, deployed by the hub's StackSet.
 * Environment-agnostic: every per-account difference is a CloudFormation parameter; no file assets.
 * Composes one construct per capability; the environment that owns the telemetry foundation also gets the
 * account-wide singletons (OAM link, VPC endpoints, CloudWatch agent association).
 */
export class MemberAccountStack extends StackSetStack {
  /** The parameters this template declares (a reusing environment declares no foundation parameters). */
  readonly parameterNames: string[] = [];
  private readonly logicalIds = new Map<string, string>();

  constructor(scope: Construct, id: string, props: MemberAccountStackProps) {
    super(scope, id);
    const { config, naming } = props;
    const owner = ownsFoundation(config);
    this.templateOptions.description = `Observability hub member resources (${naming.suffix}): monitoring role, ${owner ? 'OAM link, ' : ''}log metrics, alarms, alarm forwarding${owner ? ', endpoints, CloudWatch agent' : ''}`;

    const param = (
      name: string,
      p: { description: string; default?: string | number; type?: string; pattern?: string; allowed?: string[] },
    ) => {
      this.parameterNames.push(name);
      return new CfnParameter(this, name, {
        type: p.type ?? 'String',
        description: p.description,
        default: p.default,
        allowedPattern: p.pattern,
        allowedValues: p.allowed,
      });
    };
    const hubAccountId = param(MemberParameter.hubAccountId, {
      description: 'The monitoring hub account that may assume the monitoring role',
      default: config.hubAccountId,
      pattern: '^\\d{12}$',
    }).valueAsString;
    const organizationId = param(MemberParameter.organizationId, {
      description: 'AWS Organizations id; the role trusts the hub only as a member of it',
      default: config.organizationId,
      pattern: '^o-[a-z0-9]{10,32}$',
    }).valueAsString;
    const externalId = param(MemberParameter.externalId, {
      description: 'External id the hub must present to assume the monitoring role',
      default: config.externalId,
    }).valueAsString;
    const hubBusArn = param(MemberParameter.hubEventBusArn, {
      description: 'ARN of the hub event bus that receives alarm state changes (set by the hub StackSet)',
      pattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/.+$',
    }).valueAsString;
    const thresholds = config.thresholds;
    const number = (name: string, description: string, value: number) =>
      param(name, { description, type: 'Number', default: value }).valueAsNumber;
    const errorCount = number(
      MemberParameter.errorThreshold,
      'Errors per 5 minutes that raise the error alarm',
      thresholds.errorCount,
    );
    const latencyThresholdMs = param(MemberParameter.latencyThresholdMs, {
      description: 'Payment latency (ms) whose p99 raises the latency alarm',
      type: 'Number',
      default: thresholds.latencyP99Ms,
    }).valueAsString;
    const throttledCalls = number(
      MemberParameter.throttledCallsThreshold,
      'Throttled AWS calls per 5 minutes (application logs) that raise the throttling alarm',
      thresholds.throttledCalls,
    );
    const silencePeriods = number(
      MemberParameter.silencePeriods,
      `Five-minute periods without any application log event that raise the silence alarm`,
      thresholds.silenceMinutes / SILENCE_STEP_MINUTES,
    );
    const silenceIsCritical = param(MemberParameter.silenceIsCritical, {
      description: "'true': the silence alarm opens a ticket (the account must never be quiet)",
      default: 'false',
      allowed: ['true', 'false'],
    }).valueAsString;

    const inHubRegion = new CfnCondition(this, 'IsHubRegion', {
      expression: Fn.conditionEquals(Aws.REGION, HUB_REGION),
    });
    new MonitoringRole(this, 'Monitoring', { naming, hubAccountId, organizationId, externalId, onlyIn: inHubRegion });

    const appLogs = new ApplicationLogMetrics(this, 'ApplicationLogMetrics', {
      naming,
      applications: config.applicationLogGroups,
      retention: LOG_RETENTION,
      latencyThresholdMs,
    });
    new AccountAlarms(this, 'AccountAlarms', {
      naming,
      logGroups: appLogs.logGroups,
      thresholds: { errorCount, throttledCalls, silencePeriods },
      silenceIsCritical: new CfnCondition(this, 'IsSilenceCritical', {
        expression: Fn.conditionEquals(silenceIsCritical, 'true'),
      }),
    });
    new AlarmForwarding(this, 'AlarmForwarding', { naming, hubBusArn, allAlarms: owner });

    if (!owner) return;
    const sinkArn = param(MemberParameter.oamSinkArn, {
      description: 'ARN of the hub OAM sink (set by the hub StackSet)',
      pattern: '^arn:aws[a-z-]*:oam:[a-z0-9-]+:\\d{12}:sink/.+$',
    }).valueAsString;
    new TelemetryLink(this, 'TelemetryLink', { sinkArn, onlyIn: inHubRegion });
    new MonitoringEndpoints(this, 'MonitoringEndpoints', {
      naming,
      vpcId: param(MemberParameter.vpcId, {
        description: 'VPC for the monitoring/logs/sns interface endpoints; empty to create none',
        default: '',
        pattern: '^(vpc-[0-9a-f]{8,17})?$',
      }).valueAsString,
      vpcCidr: param(MemberParameter.vpcCidr, {
        description: 'IPv4 CIDR of that VPC, allowed to reach the endpoints on 443',
        default: '',
        pattern: '^((\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2})?$',
      }).valueAsString,
      subnetIds: param(MemberParameter.subnetIds, {
        description: 'Subnets for the interface endpoints (comma separated)',
        type: 'CommaDelimitedList',
        default: '',
      }).valueAsList,
      vpcRegion: param(MemberParameter.vpcRegion, {
        description: "The VPC's region: only that region's stack instance creates the endpoints",
        default: HUB_REGION,
        pattern: '^[a-z]{2}(-gov)?-[a-z]+-\\d$',
      }).valueAsString,
      privateDns: param(MemberParameter.vpcPrivateDns, {
        description: "'false' when the VPC already has private-DNS endpoints for monitoring, logs or sns",
        default: 'true',
        allowed: ['true', 'false'],
      }).valueAsString,
    });
    new CloudWatchAgent(this, 'CloudWatchAgent', {
      naming,
      tagKey: param(MemberParameter.agentTagKey, {
        description: 'EC2 instances with this tag get the CloudWatch agent',
        default: 'observability:cloudwatch-agent',
      }).valueAsString,
      tagValue: param(MemberParameter.agentTagValue, { description: 'Value of that tag', default: 'enabled' })
        .valueAsString,
    });
  }

  /** Logical ids as 0.1 deployed them (see logical-ids.ts); a duplicate would silently merge two resources. */
  protected allocateLogicalId(element: CfnElement): string {
    const scopes = element.node.scopes;
    const components = scopes.slice(scopes.indexOf(Stack.of(element)) + 1).map((c) => c.node.id);
    const logicalId = legacyLogicalId(components);
    const previous = this.logicalIds.get(logicalId);
    const path = components.join('/');
    if (previous !== undefined && previous !== path) {
      throw new Error(`Member template: '${path}' and '${previous}' would share the logical id ${logicalId}`);
    }
    this.logicalIds.set(logicalId, path);
    return logicalId;
  }
}
