import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { alarmStateChangePattern } from '../alarms';
import { acknowledgeLogGroupWithoutCmk } from '../compliance';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

export interface AuditTrailProps {
  readonly naming: Naming;
  /** Member accounts of this organization may put events on the hub bus. */
  readonly organizationId: string;
  readonly logRetention: logs.RetentionDays;
  /**
   * Forward every alarm of the hub account to the bus (the environment that owns the foundation), or only
   * this environment's own (one that shares the hub account with another).
   */
  readonly allHubAlarms: boolean;
  /** How long the archive keeps events for replay. @default - 365 days */
  readonly archiveRetention?: Duration;
}

/**
 * The hub event bus and the audit trail of every alarm state change: member accounts forward theirs
 * to the bus, the hub's own are forwarded from its default bus; a rule writes all of them to a log
 * group and an archive keeps them for replay.
 */
export class AuditTrail extends Construct {
  /** Carries every alarm state change of the organization; the incident pipeline subscribes to it. */
  readonly bus: events.EventBus;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AuditTrailProps) {
    super(scope, id);
    const { naming } = props;

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: naming.name('bus', 'observability') });
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OrganizationMayPutAlarmEvents',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': props.organizationId } },
      }),
    );

    // The hub's own alarms publish to its default bus; forward them so one bus carries everything.
    const forwarder = LeastPrivilegeRole.forService(this, 'Forwarder', {
      naming: naming,
      purpose: 'hub-alarm-forwarder',
      service: 'events.amazonaws.com',
      description: 'Lets EventBridge forward hub alarm state changes to the hub bus',
      statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] })],
    });
    new events.Rule(this, 'ForwardHubAlarms', {
      ruleName: naming.name('rule', 'forward-hub-alarms'),
      description: 'Forwards the hub account alarm state changes to the hub bus',
      eventPattern: alarmStateChangePattern(props.allHubAlarms ? undefined : naming.suffix),
      targets: [new targets.EventBus(this.bus, { role: forwarder.immutableRole })],
    });

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: naming.logGroupName('aws/events', 'alarm-audit'),
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeLogGroupWithoutCmk(this.logGroup);
    const auditRule = new events.Rule(this, 'Rule', {
      ruleName: naming.name('rule', 'alarm-audit'),
      description: 'Writes every alarm state change of the organization to the audit log group',
      eventBus: this.bus,
      eventPattern: alarmStateChangePattern(),
    });
    // A native resource policy instead of CDK's log-group target, which deploys a custom-resource Lambda.
    new logs.CfnResourcePolicy(this, 'LogGroupPolicy', {
      policyName: naming.name('logs', 'alarm-audit-events'),
      policyDocument: Stack.of(this).toJsonString({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'EventBridgeWritesAlarmAudit',
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: `${this.logGroup.logGroupArn}`,
            Condition: { ArnEquals: { 'aws:SourceArn': auditRule.ruleArn } },
          },
        ],
      }),
    });
    auditRule.addTarget({
      bind: () => ({
        arn: Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      }),
    });

    this.bus.archive('Archive', {
      archiveName: naming.name('archive', 'alarm-audit'),
      description: 'Every alarm state change, for replay',
      eventPattern: alarmStateChangePattern(),
      retention: props.archiveRetention ?? Duration.days(365),
    });
  }
}
