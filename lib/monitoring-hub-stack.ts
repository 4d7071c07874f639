import { RemovalPolicies, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { defaultTicketAlarmPattern, HUB_REGION, ObservabilityConfig } from './config';
import { AccountAlarms } from './constructs/account-alarms';
import { AlertTopic } from './constructs/alert-topic';
import { AuditTrail } from './constructs/audit-trail';
import { IncidentPipeline } from './constructs/incident-pipeline';
import { MemberStackSet } from './constructs/member-stackset';
import { ObservabilityDashboard } from './constructs/observability-dashboard';
import { TelemetrySink } from './constructs/telemetry-sink';
import { ThrottlingInsights } from './constructs/throttling-insights';
import { LOG_RETENTION, MemberAccountStack } from './member-account-stack';
import { Naming } from './naming';

export interface MonitoringHubStackProps extends Omit<StackProps, 'env'> {
  readonly config: ObservabilityConfig;
}

/**
 * The monitoring hub (us-east-1, hub account): telemetry sink, alarms, dashboard, audit trail,
 * throttling analysis, incident pipeline, and the StackSet that deploys the member template.
 */
export class MonitoringHubStack extends Stack {
  readonly naming: Naming;
  readonly memberStack: MemberAccountStack;
  readonly alarms: AccountAlarms;
  readonly incidents: IncidentPipeline;

  constructor(scope: Construct, id: string, props: MonitoringHubStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: { account: config.hubAccountId, region: HUB_REGION },
      description: `Cross-account observability hub (${config.environmentSuffix})`,
    });
    const naming = (this.naming = new Naming(config.environmentSuffix));

    const sink = new TelemetrySink(this, 'TelemetrySink', { naming, organizationId: config.organizationId });
    const alertTopic = new AlertTopic(this, 'AlertTopic', { naming, emails: config.alertEmails });
    const auditTrail = new AuditTrail(this, 'AuditTrail', {
      naming,
      organizationId: config.organizationId,
      logRetention: LOG_RETENTION,
    });

    this.alarms = new AccountAlarms(this, 'AccountAlarms', {
      naming,
      accounts: config.memberAccounts,
      thresholds: config.thresholds,
    });
    const throttling = new ThrottlingInsights(this, 'ThrottlingInsights', {
      naming,
      cloudTrailLogGroupName: config.cloudTrailLogGroupName,
      threshold: config.thresholds.throttledApiCalls,
    });

    this.incidents = new IncidentPipeline(this, 'IncidentPipeline', {
      naming,
      bus: auditTrail.bus,
      topic: alertTopic.topic,
      jira: config.jira,
      ticketAlarmPattern: config.jira.ticketAlarmPattern ?? defaultTicketAlarmPattern(config.environmentSuffix),
      logRetention: LOG_RETENTION,
    });

    new ObservabilityDashboard(this, 'Dashboard', {
      naming,
      alarms: this.alarms,
      throttlingRules: throttling.rules,
      platformAlarms: [...throttling.rules.map((rule) => rule.alarm), ...this.incidents.alarms],
    });

    this.memberStack = new MemberAccountStack(this, 'MemberAccount', { config, naming });
    new MemberStackSet(this, 'MemberStackSet', {
      naming,
      config,
      template: this.memberStack,
      oamSinkArn: sink.sinkArn,
      hubEventBusArn: auditTrail.bus.eventBusArn,
    });

    // `cdk destroy` removes everything: override CDK's RETAIN defaults (log groups, tables, ...).
    RemovalPolicies.of(this).destroy();
  }
}
