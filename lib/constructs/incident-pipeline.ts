import * as path from 'path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ObservabilityConfig } from '../config';
import { acknowledgeLogGroupWithoutCmk } from '../compliance';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';
import { ALARM_STATE_CHANGE_PATTERN } from './audit-trail';

export const HANDLER_ENTRY = path.join(__dirname, '..', '..', 'lambda', 'jira-incident', 'index.ts');
/** Lambda's asynchronous retries before an event goes to the on-failure destination. */
export const ASYNC_RETRY_ATTEMPTS = 2;

export interface IncidentPipelineProps {
  readonly naming: Naming;
  /** Carries every alarm state change (hub and members). */
  readonly bus: events.IEventBus;
  /** Email topic; only the handler publishes to it. */
  readonly topic: sns.ITopic;
  readonly jira: ObservabilityConfig['jira'];
  /** Alarm names matching this regular expression get a JIRA ticket; all others email only. */
  readonly ticketAlarmPattern: string;
  readonly logRetention: logs.RetentionDays;
  /** How long one invocation may run, JIRA retries included. @default - 60 seconds */
  readonly timeout?: Duration;
}

/**
 * Alarm state change -> incident handler -> JIRA ticket (critical alarms) and email (all).
 * EventBridge retries delivery and keeps undeliverable events in the DLQ; Lambda retries failed
 * invocations twice and then sends them to the same DLQ, so no alarm is lost.
 */
export class IncidentPipeline extends Construct {
  readonly handler: nodejs.NodejsFunction;
  readonly table: dynamodb.Table;
  readonly deadLetterQueue: sqs.Queue;
  /** The pipeline's own health: failed deliveries or invocations, handler errors. */
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: IncidentPipelineProps) {
    super(scope, id);
    const { naming } = props;

    this.table = new dynamodb.Table(this, 'Incidents', {
      tableName: naming.name('ddb', 'incidents'),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: naming.name('sqs', 'incident-dlq'),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue (EventBridge target DLQ and Lambda on-failure destination); a DLQ of a DLQ would only move the problem.',
    });

    const secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'JiraSecret', props.jira.secretArn);
    const functionName = naming.name('lambda', 'jira-incident');
    const logGroup = new logs.LogGroup(this, 'HandlerLogs', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledgeLogGroupWithoutCmk(logGroup);

    // Every permission of the handler, in one place: nothing else can add to it.
    const handlerRole = new LeastPrivilegeRole(this, 'HandlerRole', {
      roleName: naming.name('role', 'jira-incident'),
      policyName: naming.name('policy', 'jira-incident'),
      description: 'Execution role of the JIRA incident handler',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      statements: [
        new iam.PolicyStatement({
          sid: 'WriteOwnLogs',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [logGroup.logGroupArn],
        }),
        new iam.PolicyStatement({
          sid: 'IncidentRecords',
          actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          resources: [this.table.tableArn],
        }),
        new iam.PolicyStatement({ sid: 'EmailAlerts', actions: ['sns:Publish'], resources: [props.topic.topicArn] }),
        new iam.PolicyStatement({
          sid: 'JiraCredentials',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secret.secretArn],
        }),
        new iam.PolicyStatement({
          sid: 'OnFailureDestination',
          actions: ['sqs:SendMessage'],
          resources: [this.deadLetterQueue.queueArn],
        }),
      ],
    });

    this.handler = new nodejs.NodejsFunction(this, 'Handler', {
      functionName,
      role: handlerRole.immutableRole,
      description: 'Turns alarm state changes into JIRA tickets (critical alarms) and email (all)',
      entry: HANDLER_ENTRY,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      timeout: props.timeout ?? Duration.seconds(60),
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment: {
        JIRA_BASE_URL: props.jira.baseUrl,
        JIRA_PROJECT_KEY: props.jira.projectKey,
        JIRA_ISSUE_TYPE: props.jira.issueType,
        JIRA_SECRET_ARN: secret.secretArn,
        ALERT_TOPIC_ARN: props.topic.topicArn,
        INCIDENT_TABLE_NAME: this.table.tableName,
        JIRA_TICKET_ALARM_PATTERN: props.ticketAlarmPattern,
        ...(props.jira.resolveTransition ? { JIRA_RESOLVE_TRANSITION: props.jira.resolveTransition } : {}),
        POWERTOOLS_SERVICE_NAME: 'jira-incident',
        NODE_OPTIONS: '--enable-source-maps',
      },
      bundling: {
        minify: true,
        sourceMap: true,
        // The runtime ships AWS SDK v3; bundling it again would only slow the cold start.
        externalModules: ['@aws-sdk/*'],
        forceDockerBundling: false,
      },
    });
    Validations.of(this.handler).acknowledge({
      id: 'PCI.DSS.321-LambdaInsideVPC',
      reason:
        'The hub has no VPC: the handler only calls JIRA Cloud over HTTPS and AWS APIs (TLS, IAM-authenticated). A VPC would add NAT gateways as a cost and a failure point on the paging path without isolating anything; it handles no cardholder data.',
    });
    this.handler.configureAsyncInvoke({
      retryAttempts: ASYNC_RETRY_ATTEMPTS,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });

    new events.Rule(this, 'AlarmStateChanges', {
      ruleName: naming.name('rule', 'alarm-incidents'),
      description: 'Sends every alarm state change of the organization to the incident handler',
      eventBus: props.bus,
      eventPattern: ALARM_STATE_CHANGE_PATTERN,
      targets: [
        new targets.LambdaFunction(this.handler, {
          retryAttempts: 20,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    // FILL(..., 0): idle queues and functions publish no data points, which must not look like breaching.
    const filled = (id: string, metric: cloudwatch.IMetric) =>
      new cloudwatch.MathExpression({
        expression: `FILL(${id}, 0)`,
        usingMetrics: { [id]: metric },
        period: Duration.minutes(1),
      });
    this.alarms = [
      new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmName: naming.name('alarm', 'incident-dlq-not-empty'),
        alarmDescription: `Alarm state changes failed and wait in ${this.deadLetterQueue.queueName}: redrive them (README, Operations)`,
        metric: filled(
          'visible',
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        ),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      new cloudwatch.Alarm(this, 'HandlerErrors', {
        alarmName: naming.name('alarm', 'incident-handler-errors'),
        alarmDescription:
          'The incident handler failed (JIRA, Secrets Manager, DynamoDB or SNS); Lambda retries, then the DLQ',
        metric: filled('errors', this.handler.metricErrors({ period: Duration.minutes(1) })),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
  }
}
