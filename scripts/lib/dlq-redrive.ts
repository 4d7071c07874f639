/**
 * `npm run dlq:redrive`: moves dead-lettered alarm events from `sqs-incident-dlq-<suffix>` back to
 * the incident handler's intake (the buffer queue, or the function itself with --to-function).
 *
 * A DLQ message is deleted only after its intake accepted the event; anything the handler would
 * not accept (not JSON, not an alarm event, an event it rejects) stays in the DLQ and is reported.
 * Whether an event is an alarm event is decided by the handler's own parser (lambda/jira-incident/events.ts).
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { Naming } from '../../lib/naming';
import { parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import {
  awsClientConfig,
  awsErrorText,
  checkRegion,
  checkSuffix,
  EXIT_FAILED,
  EXIT_OK,
  parseFlags,
  runCommand,
  UsageError,
  type AwsSettings,
  type Output,
} from './cli';
import { formatTable } from './table';

export const COMMAND = 'dlq:redrive';

export const HELP = `Usage: npm run dlq:redrive -- --suffix <s> [--dry-run] [--max N] [--to-function] [options]

Moves dead-lettered alarm events from sqs-incident-dlq-<s> back to the incident handler, after you
fixed what made them fail (JIRA token, outage). Each event goes to the handler's intake, the
buffer queue sqs-incident-buffer-<s> (SendMessage, the original event as the body); a DLQ message
is deleted only after that succeeded. Understands both message shapes in the DLQ: Lambda
on-failure records (the event is in requestPayload) and EventBridge / SQS dead letters (the body
is the event). Anything else (not JSON, not an alarm state change, an event the handler rejects)
is left in the DLQ and listed as skipped, never deleted.

Safe to repeat: the handler is idempotent per event id, so an event that was already handled (or
moved twice, e.g. when a delete failed after the move) opens no second issue and sends no second
email; a repeat run simply moves what is still there.

Options:
  --suffix <s>          environment suffix of the deployed hub (required)
  --dry-run             list what would move (alarm, account, state, state time, failure
                        reason) and change nothing; messages are made visible again at once
  --max <N>             move at most N events (skipped messages do not count)
  --to-function         invoke lambda-jira-incident-<s> synchronously (RequestResponse) instead
                        of the buffer queue; a message is deleted only when the invocation
                        returned without a FunctionError. Use it for events the buffer does not
                        take (SNS notifications, alarm-action events) or before the buffer exists
  --region <region>     AWS region of the hub (default us-east-1)
  --profile <name>      AWS profile (default: the standard credential chain, AWS_PROFILE, SSO...)
  -h, --help            this help

Permissions: sqs:ReceiveMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility,
sqs:GetQueueUrl, sqs:GetQueueAttributes on the DLQ; sqs:SendMessage on the buffer (or
lambda:InvokeFunction with --to-function). AWS_ENDPOINT_URL is honoured.

Output: a row per message and a summary (moved, skipped, failed, left in the DLQ) on stdout;
progress on stderr. It stops after 5 failures in a row (the intake is down: fix it first).
Ctrl-C stops after the current message and makes the rest visible again.

Exit code: 0 nothing failed (skipped messages allowed), 1 a message failed or the run stopped,
2 usage error (including a DLQ or buffer that does not exist: check --suffix and --region).

Examples:
  npm run dlq:redrive -- --suffix prod --dry-run
  npm run dlq:redrive -- --suffix prod --max 1        # one first, then check the ticket
  npm run dlq:redrive -- --suffix prod
  npm run dlq:redrive -- --suffix prod --to-function
  AWS_PROFILE=hub-admin npm run dlq:redrive -- --suffix pr42 --region us-east-1 --dry-run`;

/** How the message got into the DLQ. */
export type Shape = 'lambda on-failure' | 'eventbridge dlq' | 'buffer redrive' | 'unknown';
export type Action = 'moved' | 'would move' | 'skipped' | 'failed';

export interface MessageReport {
  messageId: string;
  shape: Shape;
  action: Action;
  alarm: string;
  account: string;
  state: string;
  stateTime: string;
  failure: string;
  note: string;
}

export interface Classified {
  shape: Shape;
  /** The event the handler was (or would have been) given. */
  event?: unknown;
  /** What goes to the buffer: an EventBridge dead letter's body unchanged, else the event as JSON. */
  body?: string;
  alarm: string;
  account: string;
  state: string;
  stateTime: string;
  failure: string;
  /** Set when the message must stay in the DLQ, and why. */
  skip?: string;
}

const INPUT_LABEL: Record<AlarmStateChange['input'], string> = {
  eventbridge: 'an EventBridge event',
  sns: 'an SNS notification',
  'lambda-action': 'an alarm-action event',
};

/** Stop after this many failures in a row: the intake is broken and every further attempt would fail too. */
export const MAX_CONSECUTIVE_FAILURES = 5;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function attribute(m: Message, name: string): string | undefined {
  return m.MessageAttributes?.[name]?.StringValue;
}

/** Why the message was dead-lettered, from the Lambda record or the EventBridge / SQS attributes. */
function failureReason(shape: Shape, record: Record<string, unknown> | undefined, m: Message): string {
  if (shape === 'lambda on-failure' && record) {
    const ctx = isRecord(record.requestContext) ? record.requestContext : {};
    const payload = isRecord(record.responsePayload) ? record.responsePayload : {};
    const error = [payload.errorType, payload.errorMessage].filter((x) => typeof x === 'string').join(': ');
    const attempts = typeof ctx.approximateInvokeCount === 'number' ? ` (${ctx.approximateInvokeCount} attempts)` : '';
    return `${error || String(ctx.condition ?? 'unknown')}${attempts}`;
  }
  if (shape === 'eventbridge dlq') {
    const code = attribute(m, 'ERROR_CODE');
    const message = attribute(m, 'ERROR_MESSAGE');
    const retries = attribute(m, 'RETRY_ATTEMPTS');
    return `${[code, message].filter(Boolean).join(': ')}${retries ? ` (${retries} retries)` : ''}`;
  }
  const source = m.Attributes?.DeadLetterQueueSourceArn;
  return source ? `receive limit exceeded in ${source.split(':').pop()}` : 'SQS dead letter (no failure details)';
}

function describeChanges(changes: readonly AlarmStateChange[]) {
  const uniq = (xs: string[]) => [...new Set(xs)].join(', ');
  return {
    alarm: uniq(changes.map((c) => c.alarmName)),
    account: uniq(changes.map((c) => c.accountId)),
    state: uniq(changes.map((c) => c.newState)),
    stateTime: uniq(changes.map((c) => c.timestamp)),
  };
}

/** Which shape a DLQ message has, its original event, and whether it can go to the intake. */
export function classify(m: Message, intake: 'buffer' | 'function'): Classified {
  const blank = { alarm: '?', account: '?', state: '?', stateTime: '?' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(m.Body ?? '');
  } catch {
    return { shape: 'unknown', ...blank, failure: '', skip: 'body is not JSON' };
  }
  let shape: Shape;
  let event: unknown;
  let body: string;
  if (isRecord(parsed) && isRecord(parsed.requestContext) && 'requestPayload' in parsed) {
    shape = 'lambda on-failure';
    event = parsed.requestPayload;
    body = JSON.stringify(event);
  } else if (isRecord(parsed) && typeof parsed['detail-type'] === 'string') {
    shape = attribute(m, 'ERROR_CODE') || attribute(m, 'RULE_ARN') ? 'eventbridge dlq' : 'buffer redrive';
    event = parsed;
    body = m.Body ?? '';
  } else {
    return {
      shape: 'unknown',
      ...blank,
      failure: '',
      skip: 'not a Lambda on-failure record nor an EventBridge event',
    };
  }
  const failure = failureReason(shape, isRecord(parsed) ? parsed : undefined, m);
  let changes: AlarmStateChange[];
  try {
    const result = parseEvent(event);
    if (result.kind === 'ignored')
      return { shape, ...blank, failure, skip: `the handler ignores it: ${result.reason}` };
    if (result.kind === 'product') {
      const ev = result.event;
      if (ev.kind === 'heartbeat') {
        return {
          shape,
          ...blank,
          alarm: ev.alarmName,
          failure,
          skip: 'an alert-path heartbeat: the next scheduled one proves the path again; nothing to redrive',
        };
      }
      const described =
        ev.kind === 'resolve-due'
          ? { alarm: ev.alarmName, account: ev.accountId, state: 'OK (delayed resolve)', stateTime: ev.stateAt }
          : { alarm: `maintenance window ${ev.window}`, account: '-', state: 'window ended', stateTime: ev.endedAt };
      return { shape, event, body, ...described, failure };
    }
    changes =
      result.kind === 'change' ? [result.change] : result.records.flatMap((r) => ('change' in r ? [r.change] : []));
    if (changes.length === 0)
      return { shape, ...blank, failure, skip: 'the handler ignores it: no alarm notification' };
  } catch (err) {
    // An event the handler rejects fails again: leave it for a person.
    return { shape, ...blank, failure, skip: `the handler rejects it: ${(err as Error).message}` };
  }
  const described = describeChanges(changes);
  if (intake === 'buffer' && changes.some((c) => c.input !== 'eventbridge')) {
    return {
      shape,
      event,
      body,
      ...described,
      failure,
      skip: `${INPUT_LABEL[changes.find((c) => c.input !== 'eventbridge')!.input]}; the buffer takes EventBridge events. Fix: --to-function`,
    };
  }
  return { shape, event, body, ...described, failure };
}

export interface RedriveOptions {
  suffix: string;
  aws: AwsSettings;
  dryRun?: boolean;
  max?: number;
  toFunction?: boolean;
  /** Messages this run has received stay hidden from it for this long (then they are made visible at once). */
  visibilityTimeoutSeconds?: number;
  /** Long polling, so an empty receive means empty (short polling samples only some SQS servers). */
  waitTimeSeconds?: number;
  progress?: (line: string) => void;
  progressIntervalMs?: number;
  signal?: AbortSignal;
}

export interface RedriveResult {
  dlqName: string;
  intakeName: string;
  intake: 'buffer' | 'function';
  dryRun: boolean;
  reports: MessageReport[];
  counts: { moved: number; skipped: number; failed: number; left: number | undefined };
  /** Why the run ended early (consecutive failures, interrupted). */
  stopped?: string;
}

class HandlerError extends Error {}

async function queueUrl(sqs: SQSClient, name: string, what: string, region: string, fix: string): Promise<string> {
  try {
    const out = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    return out.QueueUrl!;
  } catch (err) {
    const e = err as Error;
    if (e.name === 'QueueDoesNotExist' || e.name === 'AWS.SimpleQueueService.NonExistentQueue') {
      throw new UsageError(`${what} ${name} does not exist in ${region}. Fix: ${fix}`);
    }
    throw err;
  }
}

async function queueDepth(sqs: SQSClient, url: string): Promise<number | undefined> {
  try {
    const out = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const a = out.Attributes ?? {};
    return (
      Number(a.ApproximateNumberOfMessages ?? 0) +
      Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(a.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  } catch {
    return undefined;
  }
}

function handlerNote(payload: Uint8Array | undefined): string {
  try {
    const out = JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8')) as unknown;
    const one = (r: unknown) =>
      isRecord(r) ? [r.outcome, r.issueKey].filter((x) => typeof x === 'string').join(' ') : '';
    if (isRecord(out) && Array.isArray(out.results)) return `handler: ${out.results.map(one).join(', ')}`;
    const text = one(out);
    return text ? `handler: ${text}` : 'handler accepted it';
  } catch {
    return 'handler accepted it';
  }
}

function functionErrorText(kind: string, payload: Uint8Array | undefined): string {
  try {
    const out = JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8')) as Record<string, unknown>;
    const text = [out.errorType, out.errorMessage].filter((x) => typeof x === 'string').join(': ');
    return `handler failed (${kind})${text ? `: ${text}` : ''}`;
  } catch {
    return `handler failed (${kind})`;
  }
}

/** Reads the DLQ until it is empty (for this run), --max is reached, or the run is stopped. */
export async function redrive(options: RedriveOptions): Promise<RedriveResult> {
  const naming = new Naming(options.suffix);
  const dlqName = naming.name('sqs', 'incident-dlq');
  const intake = options.toFunction ? 'function' : 'buffer';
  const intakeName = options.toFunction
    ? naming.name('lambda', 'jira-incident')
    : naming.name('sqs', 'incident-buffer');
  const dryRun = options.dryRun === true;
  const progress = options.progress ?? (() => undefined);
  const interval = options.progressIntervalMs ?? 1000;
  const region = options.aws.region;
  const sqs = new SQSClient(awsClientConfig(options.aws));
  const lambda = options.toFunction ? new LambdaClient(awsClientConfig(options.aws)) : undefined;
  const reports: MessageReport[] = [];
  /** Received and not deleted: made visible again at the end. */
  const pending = new Map<string, string>();
  const seen = new Set<string>();
  let stopped: string | undefined;
  let moved = 0;
  let skipped = 0;
  let failed = 0;
  let wouldMove = 0;
  let left: number | undefined;
  try {
    const dlqUrl = await queueUrl(
      sqs,
      dlqName,
      'the DLQ',
      region,
      'check --suffix and --region (and the AWS profile: the hub account)',
    );
    const bufferUrl =
      intake === 'buffer'
        ? await queueUrl(
            sqs,
            intakeName,
            'the buffer queue',
            region,
            'deploy the hub with the buffer queue, or move the events straight to the handler with --to-function',
          )
        : undefined;
    const before = await queueDepth(sqs, dlqUrl);
    progress(
      `${COMMAND}: reading ${dlqName} (about ${before ?? '?'} messages) -> ${intake === 'buffer' ? 'queue' : 'function'} ${intakeName}${dryRun ? ' (dry run)' : ''}`,
    );
    let lastProgress = Date.now();
    let consecutiveFailures = 0;
    const movable = () => (dryRun ? wouldMove : moved);

    receiving: while (!options.signal?.aborted) {
      const room = options.max === undefined ? 10 : Math.min(10, options.max - movable());
      if (room <= 0) break;
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: dlqUrl,
          MaxNumberOfMessages: room,
          WaitTimeSeconds: options.waitTimeSeconds ?? 1,
          // A batch of synchronous invocations can take 10 x the function's 60 s timeout.
          VisibilityTimeout: options.visibilityTimeoutSeconds ?? (options.toFunction ? 900 : 300),
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      // A message seen before came back (its visibility ran out): keep its new handle, do not handle it twice.
      const fresh = messages.filter((m) => {
        if (!seen.has(m.MessageId!)) return true;
        if (pending.has(m.MessageId!)) pending.set(m.MessageId!, m.ReceiptHandle!);
        return false;
      });
      if (fresh.length === 0) break;
      for (const m of fresh) {
        const id = m.MessageId!;
        seen.add(id);
        const c = classify(m, intake);
        const report = (action: Action, note: string) => {
          reports.push({
            messageId: id,
            shape: c.shape,
            action,
            alarm: c.alarm,
            account: c.account,
            state: c.state,
            stateTime: c.stateTime,
            failure: c.failure,
            note,
          });
        };
        if (options.signal?.aborted) {
          pending.set(id, m.ReceiptHandle!);
          continue;
        }
        if (c.skip !== undefined) {
          skipped++;
          pending.set(id, m.ReceiptHandle!);
          report('skipped', c.skip);
          continue;
        }
        if (dryRun) {
          wouldMove++;
          pending.set(id, m.ReceiptHandle!);
          report('would move', '');
          continue;
        }
        let note: string;
        try {
          if (bufferUrl) {
            // The queue is in the header; the handler logs the event id, which is what to trace.
            await sqs.send(new SendMessageCommand({ QueueUrl: bufferUrl, MessageBody: c.body! }));
            note = '';
          } else {
            const res = await lambda!.send(
              new InvokeCommand({
                FunctionName: intakeName,
                InvocationType: 'RequestResponse',
                Payload: Buffer.from(JSON.stringify(c.event)),
              }),
            );
            if (res.FunctionError) throw new HandlerError(functionErrorText(res.FunctionError, res.Payload));
            note = handlerNote(res.Payload);
          }
        } catch (err) {
          failed++;
          consecutiveFailures++;
          pending.set(id, m.ReceiptHandle!);
          report('failed', err instanceof HandlerError ? err.message : `not accepted: ${awsErrorText(err)}`);
          if (consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
            stopped = `${consecutiveFailures} failures in a row (last: ${reports[reports.length - 1].note}). Fix the intake, then run again`;
            // The rest of this batch was not attempted: leave it for the next run.
            for (const rest of fresh.slice(fresh.indexOf(m) + 1)) pending.set(rest.MessageId!, rest.ReceiptHandle!);
            break receiving;
          }
          continue;
        }
        consecutiveFailures = 0;
        try {
          await sqs.send(new DeleteMessageCommand({ QueueUrl: dlqUrl, ReceiptHandle: m.ReceiptHandle! }));
          moved++;
          report('moved', note);
        } catch (err) {
          failed++;
          pending.set(id, m.ReceiptHandle!);
          report(
            'failed',
            `${note ? `${note}, but ` : 'moved, but '}deleting it from the DLQ failed (${awsErrorText(err)}); the next run moves it again, harmlessly`,
          );
        }
      }
      if (Date.now() - lastProgress >= interval) {
        lastProgress = Date.now();
        progress(
          `${COMMAND}: ${reports.length} received, ${dryRun ? `${movable()} would move` : `${moved} moved`}, ${skipped} skipped, ${failed} failed`,
        );
      }
    }
    if (options.signal?.aborted && !stopped) stopped = 'interrupted';

    // Hand back what this run received but did not delete, now rather than after the visibility timeout.
    const handles = [...pending.values()];
    for (let i = 0; i < handles.length; i += 10) {
      const entries = handles
        .slice(i, i + 10)
        .map((h, j) => ({ Id: String(j), ReceiptHandle: h, VisibilityTimeout: 0 }));
      try {
        const out = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlqUrl, Entries: entries }));
        if (out.Failed?.length) {
          progress(`${COMMAND}: ${out.Failed.length} messages stay hidden until their visibility timeout ends`);
        }
      } catch (err) {
        progress(`${COMMAND}: could not make ${entries.length} messages visible again (${awsErrorText(err)})`);
      }
    }
    left = await queueDepth(sqs, dlqUrl);
    progress(
      `${COMMAND}: done: ${reports.length} received, ${dryRun ? `${movable()} would move` : `${moved} moved`}, ${skipped} skipped, ${failed} failed`,
    );
  } finally {
    sqs.destroy();
    lambda?.destroy();
  }
  return { dlqName, intakeName, intake, dryRun, reports, counts: { moved, skipped, failed, left }, stopped };
}

const NOTE_WIDTH = 90;

export function renderResult(r: RedriveResult): string {
  const target = r.intake === 'buffer' ? `queue ${r.intakeName}` : `function ${r.intakeName} (RequestResponse)`;
  const head = `${r.dryRun ? 'DRY RUN (nothing sent, nothing deleted): ' : ''}${r.dlqName} -> ${target}`;
  const messages =
    r.reports.length === 0
      ? 'No messages in the DLQ.'
      : formatTable(
          [
            'result',
            { header: 'alarm', maxWidth: 60 },
            'account',
            'state',
            'state time',
            { header: 'failure reason', maxWidth: 72 },
            { header: 'note', maxWidth: NOTE_WIDTH },
            'message id',
          ],
          r.reports.map((m) => [m.action, m.alarm, m.account, m.state, m.stateTime, m.failure, m.note, m.messageId]),
        );
  const wouldMove = r.reports.filter((m) => m.action === 'would move').length;
  const summary = formatTable(
    ['messages', { header: 'count', align: 'right' }],
    [
      r.dryRun ? ['would move', wouldMove] : ['moved', r.counts.moved],
      ['skipped', r.counts.skipped],
      ['failed', r.counts.failed],
      ['left in DLQ', r.counts.left ?? '?'],
    ],
  );
  // The table cuts long notes; what stays in the DLQ gets its whole reason.
  const notMoved = r.reports.filter(
    (m) => (m.action === 'skipped' || m.action === 'failed') && m.note.length > NOTE_WIDTH,
  );
  const details = notMoved.length
    ? ['', 'Left in the DLQ, in full:', ...notMoved.map((m) => `  ${m.messageId} (${m.action}): ${m.note}`)]
    : [];
  return [head, '', messages, ...details, '', summary, ...(r.stopped ? ['', `Stopped early: ${r.stopped}`] : [])].join(
    '\n',
  );
}

export async function dlqRedrive(
  argv: readonly string[],
  out: Output,
  options: Pick<RedriveOptions, 'signal' | 'waitTimeSeconds' | 'visibilityTimeoutSeconds' | 'progressIntervalMs'> = {},
): Promise<number> {
  return runCommand(COMMAND, out, async () => {
    const flags = parseFlags(COMMAND, argv, {
      suffix: { type: 'string' },
      'dry-run': { type: 'boolean' },
      max: { type: 'string' },
      'to-function': { type: 'boolean' },
      region: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (flags.help) {
      out.stdout(HELP);
      return EXIT_OK;
    }
    if (!flags.suffix) {
      throw new UsageError('--suffix is required. Fix: pass the suffix the hub was deployed with, e.g. --suffix dev');
    }
    let max: number | undefined;
    if (flags.max !== undefined) {
      if (!/^[1-9]\d*$/.test(flags.max)) {
        throw new UsageError(`--max '${flags.max}' is not a positive whole number. Fix: e.g. --max 10`);
      }
      max = Number(flags.max);
    }
    const result = await redrive({
      ...options,
      suffix: checkSuffix(flags.suffix),
      aws: { region: checkRegion(flags.region), profile: flags.profile },
      dryRun: flags['dry-run'],
      toFunction: flags['to-function'],
      max,
      progress: (line) => out.stderr(line),
    });
    out.stdout(renderResult(result));
    if (result.stopped) out.stderr(`${COMMAND}: stopped early: ${result.stopped}`);
    return result.counts.failed > 0 || result.stopped ? EXIT_FAILED : EXIT_OK;
  });
}
