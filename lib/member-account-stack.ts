import { ArnFormat, Aws, CfnCondition, CfnParameter, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as oam from 'aws-cdk-lib/aws-oam';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { StackSetStack } from 'cdk-stacksets';
import { Construct } from 'constructs';
import { HUB_REGION, ObservabilityConfig } from './config';
import { InsightRuleAlarm, throttlingRuleBody } from './constructs/throttling-insights';
import { APP_METRIC_FILTERS, APP_METRIC_NAMESPACE, THROTTLING_ERROR_CODES } from './metrics';
import { acknowledgeLogGroupWithoutCmk } from './compliance';
import { LeastPrivilegeRole } from './least-privilege-role';
import { Naming } from './naming';

export const LOG_RETENTION = logs.RetentionDays.ONE_MONTH;

/** The services whose interface endpoints keep monitoring traffic inside the member VPC. */
export const MONITORING_ENDPOINT_SERVICES = ['monitoring', 'logs', 'sns'] as const;

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
  agentTagKey: 'CloudWatchAgentTagKey',
  agentTagValue: 'CloudWatchAgentTagValue',
} as const;

/** The only actions the hub may use in a member account: reading metrics, alarms and logs. */
export const MONITORING_READ_ACTIONS = {
  /** CloudWatch read APIs that do not support resource-level permissions. */
  metricsAnyResource: [
    'cloudwatch:GetMetricData',
    'cloudwatch:GetMetricStatistics',
    'cloudwatch:ListMetrics',
    'cloudwatch:DescribeAnomalyDetectors',
    'cloudwatch:DescribeInsightRules',
  ],
  /** Alarm reads, scoped to this account's alarms. */
  alarms: ['cloudwatch:DescribeAlarms', 'cloudwatch:DescribeAlarmHistory', 'cloudwatch:DescribeAlarmsForMetric'],
  /** Log reads scoped to this account's log groups. */
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

export interface MemberAccountStackProps {
  readonly config: ObservabilityConfig;
  readonly naming: Naming;
}

/**
 * Everything the hub needs inside one member account, deployed by the hub's StackSet.
 * Environment-agnostic: every per-account difference is a CloudFormation parameter; no file assets.
 */
export class MemberAccountStack extends StackSetStack {
  constructor(scope: Construct, id: string, props: MemberAccountStackProps) {
    super(scope, id);
    const { config, naming } = props;
    this.templateOptions.description = `Observability hub member resources (${naming.suffix}): monitoring role, OAM link, log metrics, alarm forwarding, endpoints, CloudWatch agent`;

    const param = (name: string, props: { description: string; default?: string; type?: string; pattern?: string }) =>
      new CfnParameter(this, name, {
        type: props.type ?? 'String',
        description: props.description,
        default: props.default,
        allowedPattern: props.pattern,
      });
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
    const sinkArn = param(MemberParameter.oamSinkArn, {
      description: 'ARN of the hub OAM sink (set by the hub StackSet)',
      pattern: '^arn:aws[a-z-]*:oam:[a-z0-9-]+:\\d{12}:sink/.+$',
    }).valueAsString;
    const hubBusArn = param(MemberParameter.hubEventBusArn, {
      description: 'ARN of the hub event bus that receives alarm state changes (set by the hub StackSet)',
      pattern: '^arn:aws[a-z-]*:events:[a-z0-9-]+:\\d{12}:event-bus/.+$',
    }).valueAsString;
    const vpcId = param(MemberParameter.vpcId, {
      description: 'VPC for the monitoring/logs/sns interface endpoints; empty to create none',
      default: '',
      pattern: '^(vpc-[0-9a-f]{8,17})?$',
    }).valueAsString;
    const vpcCidr = param(MemberParameter.vpcCidr, {
      description: 'IPv4 CIDR of that VPC, allowed to reach the endpoints on 443',
      default: '',
      pattern: '^((\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2})?$',
    }).valueAsString;
    const subnetIds = param(MemberParameter.subnetIds, {
      description: 'Subnets for the interface endpoints (comma separated)',
      type: 'CommaDelimitedList',
      default: '',
    }).valueAsList;
    const agentTagKey = param(MemberParameter.agentTagKey, {
      description: 'EC2 instances with this tag get the CloudWatch agent',
      default: 'observability:cloudwatch-agent',
    }).valueAsString;
    const agentTagValue = param(MemberParameter.agentTagValue, {
      description: 'Value of that tag',
      default: 'enabled',
    }).valueAsString;

    this.addMonitoringRole(naming, hubAccountId, organizationId, externalId);

    new oam.CfnLink(this, 'OamLink', {
      sinkIdentifier: sinkArn,
      labelTemplate: '$AccountName',
      resourceTypes: ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace'],
    });

    const appLogGroups = config.applicationLogGroups.map((app) => this.addApplicationLogGroup(naming, app));
    // Who is throttled, from the applications' own logs; its alarm reaches the hub through forwarding.
    new InsightRuleAlarm(this, 'AppThrottling', {
      naming,
      purpose: 'app-throttling',
      description: 'AWS calls throttled (application logs)',
      ruleBody: throttlingRuleBody(
        appLogGroups.map((group) => group.logGroupName),
        ['$.service', '$.operation'],
        { Match: '$.errorCode', In: THROTTLING_ERROR_CODES },
      ),
      threshold: config.thresholds.throttledCalls,
    });

    this.addAlarmForwarding(naming, hubBusArn);
    this.addInterfaceEndpoints(naming, vpcId, vpcCidr, subnetIds);
    this.addCloudWatchAgent(naming, agentTagKey, agentTagValue);
  }

  /**
   * `MonitoringRole-<AccountId>-<suffix>`: IAM is global, so it is created once per account,
   * in the hub region, whatever regions the StackSet also targets.
   */
  private addMonitoringRole(naming: Naming, hubAccountId: string, organizationId: string, externalId: string) {
    const inHubRegion = new CfnCondition(this, 'IsHubRegion', {
      expression: Fn.conditionEquals(Aws.REGION, HUB_REGION),
    });
    const accountArn = (service: string, resource: string) =>
      Stack.of(this).formatArn({
        service,
        resource,
        region: '*',
        account: Aws.ACCOUNT_ID,
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const monitoring = new LeastPrivilegeRole(this, 'Monitoring', {
      roleName: naming.monitoringRoleName(Aws.ACCOUNT_ID),
      policyName: naming.name('policy', 'monitoring-read'),
      description: 'Read-only access for the observability hub to metrics, alarms and logs',
      assumedBy: new iam.AccountPrincipal(hubAccountId).withConditions({
        StringEquals: { 'sts:ExternalId': externalId, 'aws:PrincipalOrgID': organizationId },
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
    (monitoring.role.node.defaultChild as iam.CfnRole).cfnOptions.condition = inHubRegion;
    (monitoring.policy.node.defaultChild as iam.CfnManagedPolicy).cfnOptions.condition = inHubRegion;
    Validations.of(monitoring.policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:GetMetricData/GetMetricStatistics/ListMetrics/Describe* and logs:DescribeLogGroups/*Query* support no resource-level permissions (Service Authorization Reference); actions are an explicit read-only list.',
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

  private addApplicationLogGroup(naming: Naming, app: string): logs.LogGroup {
    const logGroup = new logs.LogGroup(this, `AppLogGroup-${app}`, {
      logGroupName: naming.logGroupName('observability/app', app),
      retention: LOG_RETENTION,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeLogGroupWithoutCmk(logGroup);
    for (const [purpose, filter] of Object.entries(APP_METRIC_FILTERS)) {
      new logs.MetricFilter(this, `${app}-${filter.metricName}`, {
        logGroup,
        filterName: naming.name('metric', `${app}-${purpose.toLowerCase()}`),
        filterPattern: logs.FilterPattern.literal(filter.filterPattern),
        metricNamespace: APP_METRIC_NAMESPACE,
        metricName: filter.metricName,
        metricValue: filter.metricValue,
        unit: filter.unit,
        // Zero when nothing matched, so breaching-on-missing alarms return to OK on quiet periods.
        defaultValue: 0,
      });
    }
    return logGroup;
  }

  /** Alarm state changes of this account go to the hub bus for the audit trail and the incident pipeline. */
  private addAlarmForwarding(naming: Naming, hubBusArn: string) {
    // Named per region: IAM names are account-wide and the StackSet may target several regions.
    const forwarder = new LeastPrivilegeRole(this, 'AlarmForwarder', {
      roleName: naming.name('role', `alarm-forwarder-${Aws.REGION}`),
      policyName: naming.name('policy', `alarm-forwarder-${Aws.REGION}`),
      description: 'Lets EventBridge put this account alarm state changes on the hub bus',
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      }),
      statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [hubBusArn] })],
    });
    new events.Rule(this, 'ForwardAlarmStateChanges', {
      ruleName: naming.name('rule', 'forward-alarms'),
      description: 'Forwards CloudWatch alarm state changes to the observability hub bus',
      eventPattern: { source: ['aws.cloudwatch'], detailType: ['CloudWatch Alarm State Change'] },
      targets: [
        new targets.EventBus(events.EventBus.fromEventBusArn(this, 'HubBus', hubBusArn), {
          role: forwarder.immutableRole,
        }),
      ],
    });
  }

  /** Interface endpoints for CloudWatch, CloudWatch Logs and SNS, only when the account gives a VPC. */
  private addInterfaceEndpoints(naming: Naming, vpcId: string, vpcCidr: string, subnetIds: string[]) {
    const hasVpc = new CfnCondition(this, 'HasVpc', {
      expression: Fn.conditionNot(Fn.conditionEquals(vpcId, '')),
    });
    const securityGroup = new ec2.CfnSecurityGroup(this, 'EndpointSecurityGroup', {
      groupName: naming.name('sg', 'monitoring-endpoints'),
      groupDescription: 'HTTPS from the VPC to the monitoring interface endpoints',
      vpcId,
      securityGroupIngress: [
        { ipProtocol: 'tcp', fromPort: 443, toPort: 443, cidrIp: vpcCidr, description: 'HTTPS from inside the VPC' },
      ],
      // Endpoint network interfaces only answer; this rule matches no traffic (as CDK's allowAllOutbound: false).
      securityGroupEgress: [
        {
          ipProtocol: 'icmp',
          fromPort: 252,
          toPort: 86,
          cidrIp: '255.255.255.255/32',
          description: 'Disallow all traffic',
        },
      ],
    });
    securityGroup.cfnOptions.condition = hasVpc;
    // cfn-lint resolves VpcCidr to its '' default, but the group only exists under HasVpc, where the
    // hub always passes the account's CIDR (config requires it with vpcId; AllowedPattern checks it).
    securityGroup.cfnOptions.metadata = { 'cfn-lint': { config: { ignore_checks: ['W1030'] } } };
    // The ingress CIDR is a parameter, so these rules cannot evaluate it; it is the VPC's own CIDR, on 443 only.
    const parameterCidr =
      'Ingress is HTTPS (443) only, from the VPC CIDR given as a parameter (validated pattern); the rule cannot read a parameter value.';
    Validations.of(securityGroup).acknowledge(
      { id: 'AwsSolutions-EC23', reason: parameterCidr },
      { id: 'PCI.DSS.321-EC2RestrictedCommonPorts', reason: parameterCidr },
      { id: 'PCI.DSS.321-EC2RestrictedSSH', reason: parameterCidr },
    );
    for (const service of MONITORING_ENDPOINT_SERVICES) {
      const endpoint = new ec2.CfnVPCEndpoint(this, `Endpoint-${service}`, {
        vpcId,
        serviceName: `com.amazonaws.${Aws.REGION}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds,
        securityGroupIds: [securityGroup.attrGroupId],
      });
      endpoint.cfnOptions.condition = hasVpc;
    }
  }

  /** Installs the CloudWatch agent on tagged instances and configures it from an `AmazonCloudWatch-` parameter. */
  private addCloudWatchAgent(naming: Naming, tagKey: string, tagValue: string) {
    const agentConfig = new ssm.CfnParameter(this, 'CloudWatchAgentConfig', {
      name: naming.cloudWatchAgentParameterName(),
      type: 'String',
      tier: 'Standard',
      description: 'CloudWatch agent configuration for payment hosts (memory, disk, system log)',
      value: JSON.stringify(cloudWatchAgentConfig(naming)),
    });
    const document = new ssm.CfnDocument(this, 'CloudWatchAgentDocument', {
      name: naming.name('ssm', 'cloudwatch-agent'),
      documentType: 'Command',
      updateMethod: 'NewVersion',
      content: {
        schemaVersion: '2.2',
        description: 'Install the CloudWatch agent, then configure it from the SSM parameter',
        mainSteps: [
          {
            action: 'aws:runDocument',
            name: 'installAgent',
            inputs: {
              documentType: 'SSMDocument',
              documentPath: 'AWS-ConfigureAWSPackage',
              documentParameters: { action: 'Install', name: 'AmazonCloudWatchAgent' },
            },
          },
          {
            action: 'aws:runDocument',
            name: 'configureAgent',
            inputs: {
              documentType: 'SSMDocument',
              documentPath: 'AmazonCloudWatch-ManageAgent',
              documentParameters: {
                action: 'configure',
                mode: 'ec2',
                optionalConfigurationSource: 'ssm',
                optionalConfigurationLocation: agentConfig.ref,
                optionalRestart: 'yes',
              },
            },
          },
        ],
      },
    });
    new ssm.CfnAssociation(this, 'CloudWatchAgentAssociation', {
      associationName: naming.name('ssm', 'cloudwatch-agent'),
      name: document.ref,
      targets: [{ key: Fn.join('', ['tag:', tagKey]), values: [tagValue] }],
      scheduleExpression: 'rate(1 day)',
      complianceSeverity: 'HIGH',
      maxConcurrency: '10%',
      maxErrors: '10%',
    });
  }
}

/** Agent config: host metrics per instance and the system log into a 30-day log group. */
function cloudWatchAgentConfig(naming: Naming) {
  return {
    agent: { metrics_collection_interval: 60 },
    metrics: {
      namespace: 'CWAgent',
      append_dimensions: { InstanceId: '${aws:InstanceId}' },
      metrics_collected: {
        mem: { measurement: ['mem_used_percent'] },
        disk: { measurement: ['used_percent'], resources: ['/'] },
      },
    },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: '/var/log/messages',
              log_group_name: naming.logGroupName('observability/ec2', 'messages'),
              log_stream_name: '{instance_id}',
              retention_in_days: 30,
            },
          ],
        },
      },
    },
  };
}
