import { RemovalPolicies, Stack, StackProps } from 'aws-cdk-lib';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Construct } from 'constructs';
import { defaultTicketAlarmPattern } from '../alarms';
import { cloudTrailAccount, HUB_REGION, ObservabilityConfig, ownsFoundation } from '../config';
import { LOG_RETENTION, MemberAccountStack } from '../member/member-account-stack';
import { BASELINE_METRIC, ZERO_BASELINE_METRICS } from '../metrics';
import { Naming } from '../naming';
import { ZeroBaseline } from '../zero-baseline';
import { AlarmActions } from './alarm-actions';
import { AlertPathHeartbeat } from './alert-path-heartbeat';
import { AlertTopic } from './alert-topic';
import { AuditTrail } from './audit-trail';
import { IncidentPipeline } from './incident-pipeline';
import { MaintenanceWindows } from './maintenance-windows';
import { MemberStackSet } from './member-stackset';
import { ObservabilityDashboard } from './observability-dashboard';
import { PaymentsCanary } from './payments-canary';
import { PlatformAlarms } from './platform-alarms';
import { TelemetrySink } from './telemetry-sink';
import { ThrottlingInsights } from './throttling-insights';

export interface MonitoringHubStackProps extends Omit<StackProps, 'env'> {
  readonly config: ObservabilityConfig;
}

/**
 * The monitoring hub (us-east-1, hub account): telemetry sink (when this environment owns the foundation),
 * platform alarms, dashboard, audit trail, throttling analysis, incident pipeline, and the StackSet that
 * deploys the member template.
 *
 * First deploy into a fresh organization: nothing here reads a member's telemetry in a way that needs its OAM
 * link at creation. Per-account alarms live in the member template (the StackSet creates them in each account,
 * on its own metrics); the hub's platform alarms are Metrics Insights queries that name no account; dashboards
 * accept metrics that do not exist yet. Only the CloudTrail rules may read a member's log group by ARN, and
 * they then depend on the StackSet (test/infra/deploy-order.test.ts models this).
 */
export class MonitoringHubStack extends Stack {
  readonly naming: Naming;
  readonly memberStack: MemberAccountStack;
  readonly incidents: IncidentPipeline;
  readonly stackSet: MemberStackSet;

  constructor(scope: Construct, id: string, props: MonitoringHubStackProps) {
    const { config } = props;
    super(scope, id, {
      ...props,
      env: { account: config.hubAccountId, region: HUB_REGION },
      description: `Cross-account observability hub (${config.environmentSuffix})`,
    });
    const naming = (this.naming = new Naming(config.environmentSuffix));
    const owner = ownsFoundation(config);

    const sinkArn = owner
      ? new TelemetrySink(this, 'TelemetrySink', { naming, organizationId: config.organizationId }).sinkArn
      : config.foundation!.oamSinkArn;
    const alertTopic = new AlertTopic(this, 'AlertTopic', { naming, emails: config.alertEmails });
    const auditTrail = new AuditTrail(this, 'AuditTrail', {
      naming,
      organizationId: config.organizationId,
      logRetention: LOG_RETENTION,
      allHubAlarms: owner,
    });
    // The hub's own zero baseline: platform queries have data before the first member links, and the baseline
    // series anchors metric math over sparse metrics (Contributor Insights, Lambda Errors).
    new ZeroBaseline(this, 'ZeroBaseline', { naming, metrics: [...ZERO_BASELINE_METRICS, BASELINE_METRIC] });

    const platform = new PlatformAlarms(this, 'PlatformAlarms', {
      naming,
      errorCount: config.thresholds.platformErrorCount,
      slowPayments: config.thresholds.platformSlowPayments,
    });
    const throttling = new ThrottlingInsights(this, 'ThrottlingInsights', {
      naming,
      logGroupName: config.cloudTrail.logGroupName,
      logGroupAccountId: cloudTrailAccount(config),
      hubAccountId: config.hubAccountId,
      threshold: config.thresholds.throttledApiCalls,
    });

    this.incidents = new IncidentPipeline(this, 'IncidentPipeline', {
      naming,
      bus: auditTrail.bus,
      topic: alertTopic.topic,
      config,
      ticketAlarmPattern: config.jira.ticketAlarmPattern ?? defaultTicketAlarmPattern(naming, config),
      logRetention: LOG_RETENTION,
      accountNames: Object.fromEntries(config.memberAccounts.map((a) => [a.id, a.name])),
    });
    const pipelineAlarms = [...this.incidents.alarms];
    if (config.heartbeat.enabled) {
      pipelineAlarms.push(
        new AlertPathHeartbeat(this, 'Heartbeat', {
          naming,
          bus: auditTrail.bus,
          intervalMinutes: config.heartbeat.intervalMinutes,
        }).alarm,
      );
    }
    new MaintenanceWindows(this, 'MaintenanceWindows', {
      naming,
      bus: auditTrail.bus,
      windows: config.maintenanceWindows,
    });
    const canary = config.canary
      ? new PaymentsCanary(this, 'Canary', {
          naming,
          healthUrl: config.canary.healthUrl,
          intervalMinutes: config.canary.intervalMinutes,
        })
      : undefined;

    const actions = new AlarmActions(this, 'AlarmActions', {
      naming,
      buffer: this.incidents.buffer,
      topic: alertTopic.topic,
      logRetention: LOG_RETENTION,
    });
    const throttlingAlarms = throttling.rules.map((rule) => rule.alarm);
    const hubAlarms = [
      platform.critical,
      platform.errors,
      platform.slowPayments,
      ...(canary ? [canary.alarm] : []),
      ...throttlingAlarms,
    ];
    for (const alarm of hubAlarms) actions.attach(alarm);
    for (const alarm of pipelineAlarms) {
      actions.attach(alarm, { directEmail: true });
      // With OpsCenter on, CloudWatch itself also opens an OpsItem: a path that needs neither SNS nor a function.
      if (config.opsCenter.enabled) {
        alarm.addAlarmAction(
          new cwActions.SsmAction(cwActions.OpsItemSeverity.HIGH, cwActions.OpsItemCategory.AVAILABILITY),
        );
      }
    }

    new ObservabilityDashboard(this, 'Dashboard', {
      naming,
      config,
      hubAlarms: [...hubAlarms, ...pipelineAlarms],
      throttlingRules: throttling.rules,
      auditLogGroup: auditTrail.logGroup,
      handlerLogGroup: this.incidents.handlerLogGroup,
      handlerFunctionName: naming.name('lambda', 'jira-incident'),
    });

    this.memberStack = new MemberAccountStack(this, 'MemberAccount', { config, naming });
    this.stackSet = new MemberStackSet(this, 'MemberStackSet', {
      naming,
      config,
      template: this.memberStack,
      oamSinkArn: owner ? sinkArn : undefined,
      hubEventBusArn: auditTrail.bus.eventBusArn,
    });
    // A trail log group in a member account is read through that member's OAM link: after its instance exists.
    if (config.memberAccounts.some((account) => account.id === cloudTrailAccount(config))) {
      for (const rule of throttling.rules) rule.node.addDependency(this.stackSet.stackSet);
    }

    // `cdk destroy` removes everything: override CDK's RETAIN defaults (log groups, tables, ...).
    RemovalPolicies.of(this).destroy();
  }
}
