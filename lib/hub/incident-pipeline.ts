import * as path from 'path';
import { Annotations, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmName, alarmStateChangePattern, HUB_ALARMS } from '../alarms';
import { MaintenanceWindow, ObservabilityConfig } from '../config';
import { baselineMetric } from '../metrics';
import { Naming } from '../naming';
import { hubFunction } from './hub-function';
import { QueueKeepalive } from './queue-keepalive';

export const HANDLER_ENTRY = path.join(__dirname, '..', '..', 'lambda', 'jira-incident', 'index.ts');
/** Namespace of the pipeline's own metrics (heartbeat). */
export const PIPELINE_METRIC_NAMESPACE = 'Observability/Pipeline';
export const HEARTBEAT_METRIC = 'HeartbeatSucceeded';
/** Source of the synthetic events this product puts on its own bus (heartbeat, maintenance window ends). */
export const PRODUCT_EVENT_SOURCE = 'observability.hub';
/**
 * An OK resolves its issue only after this grace period without a new ALARM (an SQS delayed message, at most
 * 15 minutes): a flapping alarm keeps one issue instead of resolving and filing a new one.
 */
/** Stack traces of the handler name its TypeScript sources (a source map in the bundle, `--enable-source-maps`). */
export const HANDLER_SOURCE_MAP = true;

export const RESOLVE_GRACE = Duration.minutes(10);
/** How long one handler invocation may run, JIRA retries included. */
export const HANDLER_TIMEOUT = Duration.seconds(60);
/**
 * Receives of one message before it goes to the DLQ. Deliveries deferred by JIRA back-pressure (429) count as
 * receives too, so this leaves room for a long rate-limited storm before anything is dead-lettered.
 */
export const BUFFER_MAX_RECEIVES = 20;

export interface IncidentPipelineProps {
  readonly naming: Naming;
  /** Carries every alarm state change (hub and members). */
  readonly bus: events.IEventBus;
  /** Email topic; only the handler (and the alarm-action fallback) publish to it. */
  readonly topic: sns.ITopic;
  readonly config: ObservabilityConfig;
  /** Alarm names matching this regular expression get a JIRA ticket; all others email only. */
  readonly ticketAlarmPattern: string;
  readonly logRetention: logs.RetentionDays;
  /** Member account names for tickets and emails (accounts the StackSet added by itself show their id). */
  readonly accountNames: Record<string, string>;
}

/**
 * Alarm state change -> hub bus -> SQS buffer -> incident handler -> JIRA (critical alarms) and email (all).
 *
 * The buffer absorbs alarm storms: the handler reads it with a bounded concurrency (the bound on concurrent
 * JIRA requests), reports partial batch failures, and returns deferred messages to the queue when JIRA
 * rate-limits; non-critical state changes are grouped into digest emails through a second queue read with a
 * batching window. Messages that keep failing end in the dead-letter queue, which an alarm watches.
 */
export class IncidentPipeline extends Construct {
  readonly handler: lambda.Function;
  readonly table: dynamodb.Table;
  readonly buffer: sqs.Queue;
  readonly digest: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The pipeline's own health: dead letters, handler errors, backlog, heartbeat. */
  readonly alarms: cloudwatch.Alarm[];
  readonly handlerLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IncidentPipelineProps) {
    super(scope, id);
    const { naming, config } = props;

    this.table = new dynamodb.Table(this, 'Incidents', {
      tableName: naming.name('ddb', 'incidents'),
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key alias/aws/dynamodb: encrypted with KMS (Control Tower CT.DYNAMODB.PR.2) without a
      // customer managed key (customer rule).
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: naming.name('sqs', 'incident-dlq'),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // A dead-letter queue declares which queues may use it (Control Tower CT.SQS.PR.1: RedriveAllowPolicy).
      redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.ALLOW_ALL },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is the dead-letter queue (of the buffer and digest queues and of the EventBridge target); a DLQ of a DLQ would only move the problem.',
    });
    const queue = (queueId: string, purpose: string, visibilityTimeout: Duration) =>
      new sqs.Queue(this, queueId, {
        queueName: naming.name('sqs', purpose),
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(4),
        // Lambda: at least six times the function timeout (Lambda developer guide, SQS event source).
        visibilityTimeout,
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: BUFFER_MAX_RECEIVES },
        removalPolicy: RemovalPolicy.DESTROY,
      });
    const visibility = Duration.seconds(HANDLER_TIMEOUT.toSeconds() * 6);
    this.buffer = queue('Buffer', 'incident-buffer', visibility);
    const digestWindow = Duration.seconds(config.notifications.digestWindowSeconds);
    this.digest = queue(
      'Digest',
      'incident-digest',
      Duration.seconds(visibility.toSeconds() + digestWindow.toSeconds()),
    );

    const secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'JiraSecret', config.jira.secretArn);
    const built = hubFunction(this, {
      naming,
      purpose: 'jira-incident',
      ids: { logs: 'HandlerLogs', role: 'HandlerRole', function: 'Handler' },
      description: 'Turns alarm state changes into JIRA tickets (critical alarms) and email (all)',
      roleDescription: 'Execution role of the JIRA incident handler',
      entry: HANDLER_ENTRY,
      timeout: HANDLER_TIMEOUT,
      logRetention: props.logRetention,
      tracing: config.tracing,
      sourceMap: HANDLER_SOURCE_MAP,
      calls: 'JIRA Cloud and AWS APIs',
      // Every permission of the handler, in one place: nothing else can add to it.
      statements: [
        new iam.PolicyStatement({
          sid: 'IncidentRecords',
          actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:Query'],
          resources: [this.table.tableArn],
        }),
        new iam.PolicyStatement({
          sid: 'EmailAlerts',
          actions: ['sns:Publish', 'sns:ListSubscriptionsByTopic'],
          resources: [props.topic.topicArn],
        }),
        new iam.PolicyStatement({
          sid: 'JiraCredentials',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secret.secretArn],
        }),
        new iam.PolicyStatement({
          sid: 'ReadBufferAndDigest',
          actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
          resources: [this.buffer.queueArn, this.digest.queueArn],
        }),
        new iam.PolicyStatement({
          sid: 'SendToQueues',
          // The digest, the DLQ, and the buffer itself (delayed "resolve after the grace period" messages).
          actions: ['sqs:SendMessage'],
          resources: [this.buffer.queueArn, this.digest.queueArn, this.deadLetterQueue.queueArn],
        }),
        new iam.PolicyStatement({
          sid: 'PipelineMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': PIPELINE_METRIC_NAMESPACE } },
        }),
        ...(config.tracing
          ? [
              new iam.PolicyStatement({
                sid: 'Tracing',
                actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
                resources: ['*'],
              }),
            ]
          : []),
        ...(config.opsCenter.enabled
          ? [
              // Resolving: UpdateOpsItem on the account's OpsItems (ids are assigned at creation).
              new iam.PolicyStatement({
                sid: 'ResolveOpsItems',
                actions: ['ssm:UpdateOpsItem'],
                resources: [Stack.of(this).formatArn({ service: 'ssm', resource: 'opsitem', resourceName: '*' })],
              }),
              // Creating: the OpsItem does not exist yet, so there is no ARN to name (AWS's own OpsCenter setup
              // policies grant it on "*"; Systems Manager user guide, "Set up OpsCenter").
              new iam.PolicyStatement({
                sid: 'CreateOpsItems',
                actions: ['ssm:CreateOpsItem'],
                resources: ['*'],
              }),
            ]
          : []),
      ],
      environment: {
        JIRA_BASE_URL: config.jira.baseUrl,
        JIRA_PROJECT_KEY: config.jira.projectKey,
        JIRA_ISSUE_TYPE: config.jira.issueType,
        JIRA_SECRET_ARN: secret.secretArn,
        ALERT_TOPIC_ARN: props.topic.topicArn,
        INCIDENT_TABLE_NAME: this.table.tableName,
        JIRA_TICKET_ALARM_PATTERN: props.ticketAlarmPattern,
        ...(config.jira.resolveTransition ? { JIRA_RESOLVE_TRANSITION: config.jira.resolveTransition } : {}),
        DIGEST_QUEUE_URL: this.digest.queueUrl,
        BUFFER_QUEUE_URL: this.buffer.queueUrl,
        RESOLVE_GRACE_SECONDS: String(RESOLVE_GRACE.toSeconds()),
        STORM_MAX_NEW_ISSUES: String(config.jira.storm.maxNewIssues),
        STORM_WINDOW_SECONDS: String(config.jira.storm.windowMinutes * 60),
        OPSCENTER_ENABLED: String(config.opsCenter.enabled),
        MAINTENANCE_WINDOWS: JSON.stringify(config.maintenanceWindows.map(windowForHandler)),
        ...accountNamesVariable(this, props.accountNames),
        PIPELINE_METRIC_NAMESPACE,
        POWERTOOLS_SERVICE_NAME: 'jira-incident',
        POWERTOOLS_TRACE_ENABLED: String(config.tracing),
      },
    });
    this.handler = built.function;
    this.handlerLogGroup = built.logGroup;
    const handlerRole = built.role;
    if (config.tracing) {
      Validations.of(handlerRole.policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData (scoped by the cloudwatch:namespace condition), xray:PutTraceSegments/PutTelemetryRecords and ssm:CreateOpsItem (when OpsCenter is on) support no resource-level permissions (Service Authorization Reference).',
      });
    } else {
      Validations.of(handlerRole.policy).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData and ssm:CreateOpsItem (when OpsCenter is on) support no resource-level permissions (Service Authorization Reference); the cloudwatch:namespace condition scopes PutMetricData to the pipeline namespace.',
      });
    }
    if (config.opsCenter.enabled) {
      Validations.of(handlerRole.policy).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:us-east-1:${Stack.of(this).account}:opsitem/*]`,
        reason:
          'OpsItem ids are assigned by OpsCenter at creation; the handler manages the OpsItems it creates in this account.',
      });
    }

    this.handler.addEventSource(
      new SqsEventSource(this.buffer, {
        // Small batches, no batching window: critical alarms stay immediate.
        batchSize: 10,
        maxConcurrency: config.jira.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    this.handler.addEventSource(
      new SqsEventSource(this.digest, {
        batchSize: 1000,
        // One digest email per window and poller (the window is the SQS batching window, at most 300 s).
        maxBatchingWindow: Duration.seconds(Math.max(1, digestWindow.toSeconds())),
        maxConcurrency: 2,
        reportBatchItemFailures: true,
      }),
    );

    new events.Rule(this, 'AlarmStateChanges', {
      ruleName: naming.name('rule', 'alarm-incidents'),
      description: "Sends every alarm state change of the organization (and the product's own events) to the buffer",
      eventBus: props.bus,
      eventPattern: {
        source: ['aws.cloudwatch', PRODUCT_EVENT_SOURCE],
        detailType: [...(alarmStateChangePattern().detailType ?? []), 'Maintenance Window Ended'],
      },
      targets: [
        new targets.SqsQueue(this.buffer, {
          retryAttempts: 20,
          maxEventAge: Duration.hours(24),
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    // SQS stops publishing a queue's metrics six hours after its last activity ("CloudWatch considers a queue
    // to be active for up to six hours if it contains any messages or if any action accesses it"): keep the
    // watched queues active, so their alarms read real values and missing data means broken.
    new QueueKeepalive(this, 'DeadLetterKeepalive', { naming, purpose: 'dlq', queue: this.deadLetterQueue });
    new QueueKeepalive(this, 'BufferKeepalive', { naming, purpose: 'buffer', queue: this.buffer });

    this.alarms = [
      new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmName: alarmName(naming, HUB_ALARMS.deadLetters),
        alarmDescription: `Alarm state changes failed and wait in ${this.deadLetterQueue.queueName}: fix the cause, then npm run dlq:redrive (README, Operations)`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      new cloudwatch.Alarm(this, 'HandlerErrors', {
        alarmName: alarmName(naming, HUB_ALARMS.handlerErrors),
        alarmDescription:
          'The incident handler failed invocations (JIRA, Secrets Manager, DynamoDB or SNS); the buffer retries them, then the DLQ keeps them',
        // Lambda publishes Errors only for periods with invocations: the baseline series gives every period a
        // value, so an idle handler reads as 0 errors, not as missing (breaching).
        metric: new cloudwatch.MathExpression({
          expression: 'SUM([FILL(errors, 0), baseline])',
          usingMetrics: {
            errors: this.handler.metricErrors({ period: Duration.minutes(5) }),
            baseline: baselineMetric(),
          },
          period: Duration.minutes(5),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      new cloudwatch.Alarm(this, 'Backlog', {
        alarmName: alarmName(naming, HUB_ALARMS.backlog),
        alarmDescription: `Alarm state changes wait in ${this.buffer.queueName} for more than 15 minutes: JIRA rate limits or handler failures`,
        metric: this.buffer.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 15 * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    ];
  }
}

/** What the handler needs of a maintenance window (its env var MAINTENANCE_WINDOWS): the config entry itself. */
function windowForHandler(w: MaintenanceWindow) {
  return Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined));
}

/**
 * Lambda's environment holds at most 4 KB in all: member account names (for tickets and emails) go in only while
 * they fit a share of it; beyond that the handler names accounts by id (a synth warning says so).
 */
export const ACCOUNT_NAMES_MAX_BYTES = 1_500;

function accountNamesVariable(scope: Construct, names: Record<string, string>): Record<string, string> {
  const json = JSON.stringify(names);
  if (Buffer.byteLength(json) <= ACCOUNT_NAMES_MAX_BYTES) return { ACCOUNT_NAMES: json };
  Annotations.of(scope).addWarningV2(
    'observability:account-names',
    `${Object.keys(names).length} account names do not fit the handler's environment (Lambda allows 4 KB); tickets and emails name accounts by id`,
  );
  return {};
}
