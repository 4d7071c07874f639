/**
 * Incident handler: CloudWatch alarm state changes -> JIRA issue (for alarms matching JIRA_TICKET_ALARM_PATTERN)
 * + email on the alert topic.
 *
 * Inputs: SQS batches of the incident buffer and the digest queue (the deployed path; `{ batchItemFailures }`),
 * and direct invocations: an EventBridge event or a Lambda alarm action (one ChangeResult, or an `ignored`
 * result), an SNS event (`{ results: ChangeResult[] }`, one per record), and the product's own events (the
 * heartbeat, a delayed resolve, the end of a maintenance window: their result). A direct invocation throws after
 * the email when JIRA or the email failed, so Lambda's async retry and on-failure destination take over.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { systemClock, type Clock } from './clock';
import { loadConfig, type Config } from './config';
import { BatchError, InvalidEventError, errorMessage } from './errors';
import { parseEvent, type ProductEvent } from './events';
import { runHeartbeat, type HeartbeatResult } from './heartbeat';
import { IncidentStore } from './incident-store';
import { JiraClient } from './jira-client';
import { CredentialsCache } from './jira-credentials';
import { logger } from './logger';
import { endMaintenance, type MaintenanceEndResult } from './maintenance-end';
import { Notifier } from './notifier';
import { OpsCenter, ssmSdk } from './opscenter';
import { clearChangeKeys, handleChange, type ChangeResult } from './processor';
import { isSqsEvent, Queues } from './queues';
import { resolveAfterGrace, type GraceResult } from './resolve';
import { handleSqsBatch, RECORD_RESERVE_MS, type BatchDeps } from './sqs-batch';
import { refreshUmbrellaSummary } from './storm';
import { JiraThrottle } from './throttle';
import { Tracer } from './tracing';

export type { ChangeResult, Outcome } from './processor';
export type HandlerResult =
  | ChangeResult
  | { readonly results: ChangeResult[] }
  | SQSBatchResponse
  | HeartbeatResult
  | GraceResult
  | MaintenanceEndResult;

/** Kept free after the JIRA work for the email and the DynamoDB bookkeeping. */
const SAFETY_MARGIN_MS = 1_500;
/** Budget when the context has no remaining-time function (local tools). */
const DEFAULT_BUDGET_MS = 30_000;

let clock: Clock = systemClock;
let deps: BatchDeps | undefined;

/** Configuration and clients, created on first use and reused by warm invocations. */
function dependencies(): BatchDeps {
  if (deps) return deps;
  const config: Config = loadConfig(process.env);
  // X-Ray subsegments for every JIRA request and AWS call (POWERTOOLS_TRACE_ENABLED, active tracing; tracing.ts).
  const tracer = Tracer.fromEnvironment(process.env);
  // SDK v3 clients read AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) themselves.
  const dynamo = DynamoDBDocumentClient.from(tracer.instrument(new DynamoDBClient({}), 'DynamoDB'), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const credentials = new CredentialsCache(
    tracer.instrument(new SecretsManagerClient({}), 'SecretsManager'),
    config.jiraSecretArn,
    clock,
  );
  const store = new IncidentStore(dynamo, config.incidentTableName);
  const throttle = new JiraThrottle(store, clock);
  deps = {
    config,
    clock,
    store,
    throttle,
    // Queue URLs are built from ARNs: send them to the client's endpoint, not to the URL's host.
    queues: new Queues(
      tracer.instrument(new SQSClient({ useQueueUrlAsEndpoint: false }), 'SQS'),
      config.digestQueueUrl,
    ),
    notifier: new Notifier(
      tracer.instrument(new SNSClient({}), 'SNS'),
      config.alertTopicArn,
      config.jiraBaseUrl,
      config.accountNames,
    ),
    cloudwatch: tracer.instrument(new CloudWatchClient({}), 'CloudWatch'),
    opsCenter: config.opsCenterEnabled
      ? new OpsCenter(tracer.instrument(new (ssmSdk().SSMClient)({}), 'SSM'), process.env.AWS_REGION)
      : undefined,
    jira: new JiraClient({
      baseUrl: config.jiraBaseUrl,
      credentials: () => credentials.get(),
      onUnauthorized: () => credentials.invalidate(),
      credentialsSource: config.jiraSecretArn,
      timeoutMs: config.requestTimeoutMs,
      maxAttempts: config.maxAttempts,
      clock,
      throttle,
      ...(tracer.enabled ? { fetch: tracer.fetch() } : {}),
    }),
  };
  return deps;
}

export const handler = async (event: unknown, context: Context): Promise<HandlerResult> => {
  if (context) logger.addContext(context);
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : DEFAULT_BUDGET_MS;
  const deadline = clock.now() + remaining - SAFETY_MARGIN_MS;
  let d: BatchDeps;
  try {
    d = dependencies();
  } catch (err) {
    logger.error('Invalid configuration', { error: err as Error });
    throw err;
  }

  if (isSqsEvent(event)) {
    return handleSqsBatch(event, d, deadline, {
      requestId: context?.awsRequestId,
      functionArn: context?.invokedFunctionArn,
    });
  }

  let parsed: ReturnType<typeof parseEvent>;
  try {
    parsed = parseEvent(event);
  } catch (err) {
    logger.error('Malformed event', { error: err as Error });
    throw err;
  }

  switch (parsed.kind) {
    case 'ignored':
      logger.info('Event ignored', { reason: parsed.reason });
      return { outcome: 'ignored', reason: parsed.reason };
    case 'product':
      return handleProductEvent(parsed.event, d, deadline);
    case 'change':
      return handleChange(parsed.change, d, deadline);
    case 'sns': {
      const results: ChangeResult[] = [];
      const errors: Error[] = [];
      for (const record of parsed.records) {
        if ('ignored' in record) {
          logger.info('SNS record ignored', { reason: record.ignored });
          results.push({ outcome: 'ignored', reason: record.ignored });
        } else if ('error' in record) {
          logger.error('Malformed SNS record', { error: record.error });
          errors.push(record.error);
        } else {
          try {
            results.push(await handleChange(record.change, d, deadline));
          } catch (err) {
            errors.push(err instanceof Error ? err : new Error(errorMessage(err)));
          }
        }
      }
      if (errors.length === 1 && parsed.records.length === 1) throw errors[0];
      if (errors.length) {
        const summary = errors.map((e) => `${e.name}: ${e.message}`).join(' | ');
        const invalid = errors.every((e) => e instanceof InvalidEventError);
        throw new BatchError(
          `${errors.length} of ${parsed.records.length} SNS records failed${invalid ? ' validation' : ''}: ${summary}`,
          errors,
        );
      }
      return { results };
    }
  }
};

/** A product event invoked directly (e.g. a redrive to the function): as in a batch, but a failure throws. */
async function handleProductEvent(
  event: ProductEvent,
  d: BatchDeps,
  deadline: number,
): Promise<HeartbeatResult | GraceResult | MaintenanceEndResult> {
  switch (event.kind) {
    case 'heartbeat':
      return runHeartbeat(event, d, deadline);
    case 'resolve-due': {
      const result = await resolveAfterGrace(event, d, deadline);
      if (result.umbrella) await refreshUmbrellaSummary(result.umbrella, d, deadline);
      logger.info('Delayed resolve handled', { ...result, alarmName: event.alarmName, changeId: event.changeId });
      return result;
    }
    case 'maintenance-ended': {
      const result = await endMaintenance(event, d, deadline, RECORD_RESERVE_MS);
      for (const u of result.umbrellas) await refreshUmbrellaSummary(u, d, deadline);
      return result;
    }
  }
}

/** Test hook: forget configuration, clients and caches; optionally use a fake clock. */
export function resetForTests(options: { clock?: Clock } = {}): void {
  deps = undefined;
  clock = options.clock ?? systemClock;
  clearChangeKeys();
}
