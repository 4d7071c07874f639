/**
 * Running the incident handler the way Lambda does: environment, fresh module state, a Context
 * whose remaining time counts down, a timeout, captured logs, and asynchronous invocation with
 * retries and an on-failure destination.
 */
import { randomUUID } from 'crypto';
import * as path from 'path';
import { format } from 'util';
import type { Context } from 'aws-lambda';
import { ACCOUNT, REGION, sendToQueue, type AwsClients, type DlqRecord, type TestResources } from './aws';

export const HANDLER_PATH = path.resolve(__dirname, '../../../lambda/jira-incident/index');
export const FUNCTION_NAME = 'lambda-jira-incident-it';
export const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${FUNCTION_NAME}`;

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** The handler's environment for one test (AWS SDK pointed at moto, JIRA at the fake). */
export function handlerEnv(opts: {
  motoEndpoint: string;
  jiraUrl: string;
  resources: TestResources;
  overrides?: Record<string, string | undefined>;
}): Record<string, string | undefined> {
  const r = opts.resources;
  return {
    AWS_ENDPOINT_URL: opts.motoEndpoint,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_SESSION_TOKEN: 'test',
    AWS_PROFILE: undefined,
    AWS_LAMBDA_FUNCTION_NAME: FUNCTION_NAME,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    POWERTOOLS_SERVICE_NAME: 'jira-incident',
    POWERTOOLS_DEV: undefined,
    JIRA_BASE_URL: opts.jiraUrl,
    JIRA_PROJECT_KEY: 'OPS',
    JIRA_ISSUE_TYPE: 'Incident',
    JIRA_SECRET_ARN: r.secretArn,
    ALERT_TOPIC_ARN: r.topicArn,
    INCIDENT_TABLE_NAME: r.tableName,
    JIRA_TICKET_ALARM_PATTERN: '^(critical-|composite-)',
    JIRA_RESOLVE_TRANSITION: undefined,
    JIRA_REQUEST_TIMEOUT_MS: '1000',
    JIRA_MAX_ATTEMPTS: '3',
    // The async invoker retries at once (real Lambda waits about a minute, longer than the default 30 s lag),
    // and the fake JIRA's search has no lag unless a test sets one; the tests of the lag set both.
    JIRA_SEARCH_LAG_MS: '0',
    ...opts.overrides,
  };
}

/** Sets variables (undefined deletes); returns a function restoring the previous values. */
export function applyEnv(env: Record<string, string | undefined>): () => void {
  const previous: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) {
    previous[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return () => {
    for (const [k, v] of Object.entries(previous)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Imports lambda/jira-incident/index.ts with fresh module state (a cold start): module-level
 * caches (secret, clients, config) do not leak between tests. Call after applyEnv.
 */
export function loadHandler(): Handler {
  let mod: { handler?: Handler } | undefined;
  jest.isolateModules(() => {
    mod = require(HANDLER_PATH) as { handler?: Handler };
  });
  if (typeof mod?.handler !== 'function') throw new Error(`${HANDLER_PATH} does not export a handler function`);
  return mod.handler;
}

/** A Lambda Context whose getRemainingTimeInMillis() counts down from `budgetMs`. */
export function fakeContext(budgetMs: number, requestId: string = randomUUID()): Context {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: FUNCTION_ARN,
    memoryLimitInMB: '128',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${FUNCTION_NAME}`,
    logStreamName: `2026/01/01/[$LATEST]${randomUUID().replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export interface InvokeOutcome {
  ok: boolean;
  result?: unknown;
  error?: { errorType: string; errorMessage: string; stack?: string };
  timedOut: boolean;
  durationMs: number;
  requestId: string;
}

/** Handler runs that outlived their budget (Lambda would have frozen them); awaited by settle(). */
const stragglers = new Set<Promise<unknown>>();

/** Waits (bounded) for invocations that timed out to finish, so they do not bleed into the next test. */
export async function settleStragglers(maxWaitMs = 5000): Promise<void> {
  if (stragglers.size === 0) return;
  await Promise.race([Promise.allSettled([...stragglers]), new Promise((r) => setTimeout(r, maxWaitMs))]);
  stragglers.clear();
}

/** One synchronous invocation with a `budgetMs` timeout, like Lambda's function timeout. */
export async function invoke(handler: Handler, event: unknown, budgetMs = 10_000): Promise<InvokeOutcome> {
  const requestId = randomUUID();
  const started = Date.now();
  const run = Promise.resolve().then(() => handler(structuredClone(event), fakeContext(budgetMs, requestId)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), budgetMs);
  });
  try {
    const r = await Promise.race([run.then((value) => ({ value })), timeout]);
    if (r === 'timeout') {
      stragglers.add(run.catch(() => undefined));
      return {
        ok: false,
        timedOut: true,
        durationMs: Date.now() - started,
        requestId,
        error: {
          errorType: 'Sandbox.Timedout',
          errorMessage: `Task timed out after ${(budgetMs / 1000).toFixed(2)} seconds`,
        },
      };
    }
    return { ok: true, result: r.value, timedOut: false, durationMs: Date.now() - started, requestId };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    return {
      ok: false,
      timedOut: false,
      durationMs: Date.now() - started,
      requestId,
      error: { errorType: e.name || 'Error', errorMessage: e.message, stack: e.stack },
    };
  } finally {
    clearTimeout(timer);
  }
}

export interface AsyncInvocation {
  event: unknown;
  attempts: InvokeOutcome[];
  /** 'success' = some attempt succeeded; 'dlq' = retries exhausted, a record went to the DLQ. */
  final: 'success' | 'dlq';
  result?: unknown;
  dlqRecord?: DlqRecord;
}

/**
 * Models Lambda's ASYNCHRONOUS invocation as the CDK stack configures it for the incident function
 * (EventBridge and SNS invoke it asynchronously): `retryAttempts: 2`, i.e. up to 3 attempts, then an
 * on-failure destination (the SQS DLQ) receiving Lambda's destination record
 * `{version, timestamp, requestContext:{condition:'RetriesExhausted', approximateInvokeCount},
 * requestPayload, responseContext, responsePayload:{errorType, errorMessage}}`.
 * The CDK unit tests (test/infra) assert that configuration on the synthesized template; this
 * class only reproduces its runtime semantics against moto. Real Lambda waits ~1 and ~2 minutes
 * between attempts; we wait `retryDelayMs` (0 by default) and reuse the warm module (as a warm
 * container would).
 */
export class AsyncInvoker {
  readonly ledger: AsyncInvocation[] = [];

  constructor(
    private readonly opts: {
      handler: Handler;
      clients: AwsClients;
      dlqUrl: string;
      retryAttempts?: number;
      budgetMs?: number;
      retryDelayMs?: number;
    },
  ) {}

  async invoke(event: unknown): Promise<AsyncInvocation> {
    const maxAttempts = (this.opts.retryAttempts ?? 2) + 1;
    const attempts: InvokeOutcome[] = [];
    for (let i = 0; i < maxAttempts; i++) {
      if (i > 0 && this.opts.retryDelayMs) await new Promise((r) => setTimeout(r, this.opts.retryDelayMs));
      const outcome = await invoke(this.opts.handler, event, this.opts.budgetMs ?? 10_000);
      attempts.push(outcome);
      if (outcome.ok) {
        const inv: AsyncInvocation = { event, attempts, final: 'success', result: outcome.result };
        this.ledger.push(inv);
        return inv;
      }
    }
    const last = attempts[attempts.length - 1];
    const record: DlqRecord = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: {
        requestId: attempts[0].requestId,
        functionArn: `${FUNCTION_ARN}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: attempts.length,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: {
        errorType: last.error!.errorType,
        errorMessage: last.error!.errorMessage,
        stackTrace: last.error!.stack?.split('\n').slice(1, 6),
      },
    };
    await sendToQueue(this.opts.clients, this.opts.dlqUrl, record);
    const inv: AsyncInvocation = { event, attempts, final: 'dlq', dlqRecord: record };
    this.ledger.push(inv);
    return inv;
  }
}

/**
 * Captures what the handler logs: Powertools Logger writes JSON lines through its own
 * `new Console({stdout: process.stdout})`, so we spy on process.stdout/stderr.write and on the
 * global console. Output is swallowed unless INTEGRATION_LOGS=1.
 */
export class LogCapture {
  readonly lines: string[] = [];
  private spies: jest.SpyInstance[] = [];

  start(): this {
    const passThrough = process.env.INTEGRATION_LOGS === '1';
    const push = (text: string) => {
      for (const l of text.split('\n')) if (l.trim() !== '') this.lines.push(l);
    };
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      this.spies.push(
        jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
          push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
          return passThrough ? (original as (...a: unknown[]) => boolean)(chunk, ...rest) : true;
        }) as typeof stream.write),
      );
    }
    for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      const original = console[m].bind(console);
      this.spies.push(
        jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
          push(format(...args));
          if (passThrough) original(...args);
        }),
      );
    }
    return this;
  }

  stop(): void {
    for (const s of this.spies) s.mockRestore();
    this.spies = [];
  }

  clear(): void {
    this.lines.length = 0;
  }

  /** Lines parsed as JSON (structured logs); other lines as `{ raw }`. */
  entries(): Record<string, unknown>[] {
    return this.lines.map((l) => {
      try {
        const v = JSON.parse(l) as unknown;
        return v && typeof v === 'object' ? (v as Record<string, unknown>) : { raw: l };
      } catch {
        return { raw: l };
      }
    });
  }

  text(): string {
    return this.lines.join('\n');
  }

  /** True when some line matches `re` (case-insensitive search recommended). */
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }
}
