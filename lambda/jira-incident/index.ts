/**
 * Incident handler: CloudWatch alarm state changes (EventBridge, SNS, Lambda alarm action) -> JIRA issue
 * (for alarms matching JIRA_TICKET_ALARM_PATTERN) + email on the alert topic.
 *
 * Returns one ChangeResult for an EventBridge or alarm-action event (or an `ignored` result), and
 * `{ results: ChangeResult[] }` for an SNS event (one per record). Throws after the email when JIRA or the
 * email failed, so Lambda's async retry and on-failure destination take over.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { systemClock, type Clock } from './clock';
import { loadConfig, type Config } from './config';
import { BatchError, InvalidEventError, errorMessage } from './errors';
import { parseEvent, type AlarmStateChange } from './events';
import { IncidentStore } from './incident-store';
import { JiraClient } from './jira-client';
import { CredentialsCache } from './jira-credentials';
import { logger } from './logger';
import { Notifier } from './notifier';
import { processChange, type ChangeResult, type ProcessorDeps } from './processor';

export type { ChangeResult, Outcome } from './processor';
export type HandlerResult = ChangeResult | { readonly results: ChangeResult[] };

/** Kept free after the JIRA work for the email and the DynamoDB bookkeeping. */
const SAFETY_MARGIN_MS = 1_500;
/** Budget when the context has no remaining-time function (local tools). */
const DEFAULT_BUDGET_MS = 30_000;
const PER_CHANGE_KEYS = ['alarmName', 'accountId', 'eventId', 'changeId', 'ticketKey'];

let clock: Clock = systemClock;
let deps: ProcessorDeps | undefined;

/** Configuration and clients, created on first use and reused by warm invocations. */
function dependencies(): ProcessorDeps {
  if (deps) return deps;
  const config: Config = loadConfig(process.env);
  // SDK v3 clients read AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) themselves.
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const credentials = new CredentialsCache(new SecretsManagerClient({}), config.jiraSecretArn, clock);
  deps = {
    config,
    clock,
    store: new IncidentStore(dynamo, config.incidentTableName),
    notifier: new Notifier(new SNSClient({}), config.alertTopicArn, config.jiraBaseUrl),
    jira: new JiraClient({
      baseUrl: config.jiraBaseUrl,
      credentials: () => credentials.get(),
      onUnauthorized: () => credentials.invalidate(),
      credentialsSource: config.jiraSecretArn,
      timeoutMs: config.requestTimeoutMs,
      maxAttempts: config.maxAttempts,
      clock,
    }),
  };
  return deps;
}

export const handler = async (event: unknown, context: Context): Promise<HandlerResult> => {
  if (context) logger.addContext(context);
  const remaining =
    typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : DEFAULT_BUDGET_MS;
  const deadline = clock.now() + remaining - SAFETY_MARGIN_MS;
  let d: ProcessorDeps;
  try {
    d = dependencies();
  } catch (err) {
    logger.error('Invalid configuration', { error: err as Error });
    throw err;
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
    case 'change':
      return handleOne(parsed.change, d, deadline);
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
            results.push(await handleOne(record.change, d, deadline));
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

async function handleOne(change: AlarmStateChange, d: ProcessorDeps, deadline: number): Promise<ChangeResult> {
  logger.removeKeys(PER_CHANGE_KEYS);
  logger.appendKeys({
    alarmName: change.alarmName,
    accountId: change.accountId,
    eventId: change.eventId,
    changeId: change.changeId,
  });
  const started = clock.now();
  try {
    const result = await processChange(change, d, deadline);
    logger.info('Alarm state change handled', {
      outcome: result.outcome,
      state: change.newState,
      previousState: change.previousState,
      alarmType: change.alarmType,
      input: change.input,
      issueKey: result.issueKey,
      reason: result.reason,
      durationMs: clock.now() - started,
    });
    return result;
  } finally {
    logger.removeKeys(PER_CHANGE_KEYS);
  }
}

/** Test hook: forget configuration, clients and caches; optionally use a fake clock. */
export function resetForTests(options: { clock?: Clock } = {}): void {
  deps = undefined;
  clock = options.clock ?? systemClock;
  logger.removeKeys(PER_CHANGE_KEYS);
}
