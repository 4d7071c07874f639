import { ArnFormat, Aws, CfnCondition, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

/**
 * The only actions the hub may use in a member account: reading metrics, alarms and logs. Grouped by the
 * resource types the Service Authorization Reference documents for them.
 */
export const MONITORING_READ_ACTIONS = {
  /** No resource-level permissions: granted on `*`. */
  metricsAnyResource: [
    'cloudwatch:GetMetricData',
    'cloudwatch:GetMetricStatistics',
    'cloudwatch:ListMetrics',
    'cloudwatch:DescribeAlarmsForMetric',
    'cloudwatch:DescribeAnomalyDetectors',
    'cloudwatch:DescribeInsightRules',
  ],
  /** Resource type `alarm`: scoped to this account's alarms. */
  alarms: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory'],
  /** Resource type `log-group`: scoped to this account's log groups. */
  logGroups: [
    'logs:DescribeLogStreams',
    'logs:DescribeMetricFilters',
    'logs:FilterLogEvents',
    'logs:GetLogEvents',
    'logs:GetLogGroupFields',
    'logs:StartQuery',
  ],
  /** Logs Insights query handles and the log group list have no resource-level permissions. */
  logsAnyResource: ['logs:DescribeLogGroups', 'logs:DescribeQueries', 'logs:GetQueryResults', 'logs:StopQuery'],
};

export interface MonitoringRoleProps {
  readonly naming: Naming;
  readonly hubAccountId: string;
  readonly organizationId: string;
  readonly externalId: string;
  /** IAM is global: the role exists once per account, in the stack instance of this region. */
  readonly onlyIn: CfnCondition;
}

/**
 * `MonitoringRole-<AccountId>-<suffix>`: read-only access for the hub, assumable only by the hub account with
 * the external id, as a member of the organization.
 */
export class MonitoringRole extends LeastPrivilegeRole {
  constructor(scope: Construct, id: string, props: MonitoringRoleProps) {
    const { naming } = props;
    const accountArn = (service: string, resource: string) =>
      Stack.of(scope).formatArn({
        service,
        resource,
        region: '*',
        account: Aws.ACCOUNT_ID,
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    super(scope, id, {
      roleName: naming.monitoringRoleName(Aws.ACCOUNT_ID),
      policyName: naming.name('policy', 'monitoring-read'),
      description: 'Read-only access for the observability hub to metrics, alarms and logs',
      assumedBy: new iam.AccountPrincipal(props.hubAccountId).withConditions({
        StringEquals: { 'sts:ExternalId': props.externalId, 'aws:PrincipalOrgID': props.organizationId },
      }),
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadMetrics',
          actions: MONITORING_READ_ACTIONS.metricsAnyResource,
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'ReadAlarms',
          actions: MONITORING_READ_ACTIONS.alarms,
          resources: [accountArn('cloudwatch', 'alarm')],
        }),
        new iam.PolicyStatement({
          sid: 'ReadLogGroups',
          actions: MONITORING_READ_ACTIONS.logGroups,
          resources: [accountArn('logs', 'log-group')],
        }),
        new iam.PolicyStatement({
          sid: 'ListLogGroupsAndQueries',
          actions: MONITORING_READ_ACTIONS.logsAnyResource,
          resources: ['*'],
        }),
      ],
    });
    (this.role.node.defaultChild as iam.CfnRole).cfnOptions.condition = props.onlyIn;
    (this.policy.node.defaultChild as iam.CfnManagedPolicy).cfnOptions.condition = props.onlyIn;
    Validations.of(this.policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:GetMetricData/GetMetricStatistics/ListMetrics/DescribeAlarmsForMetric/Describe* and logs:DescribeLogGroups/*Query* support no resource-level permissions (Service Authorization Reference); actions are an explicit read-only list.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:*:<AWS::AccountId>:log-group:*]`,
        reason:
          'The hub reads every log group of this account (its purpose); scoped to this account, read actions only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:*:<AWS::AccountId>:alarm:*]`,
        reason: 'The hub reads every alarm of this account (its purpose); scoped to this account, read actions only.',
      },
    );
  }
}
