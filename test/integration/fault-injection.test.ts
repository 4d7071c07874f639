/**
 * Fault injection: JIRA errors and network failures, and AWS dependencies that are missing.
 * Every event goes through the async invoker (Lambda's 3 attempts + on-failure destination), and
 * each case checks the outcome, the email, that no duplicate issue exists, and the log line.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { alarmEvent, alarmName } from './support/events';
import { expectCleanJiraTraffic, single } from './support/expectations';
import { closedPortUrl, faults, type FakeJira, type Fault } from './support/jira-server';
import { describeWithMoto } from './support/moto';
import { useWorld, type World } from './support/world';

const BUDGET_MS = 5000;

interface Case {
  name: string;
  /** Faults queued on createIssue (one-shot) or set for every request. */
  once?: Fault[];
  always?: Fault;
  env?: (w: World) => Promise<Record<string, string>> | Record<string, string>;
  /** Per-invocation JIRA attempts (JIRA_MAX_ATTEMPTS). */
  maxAttempts?: number;
  /** JIRA_REQUEST_TIMEOUT_MS (default 1000; short where a response never arrives). */
  timeoutMs?: number;
  final: 'success' | 'dlq';
  /** How many Lambda attempts it takes (1 = the first invocation succeeds). */
  lambdaAttempts?: number;
  /** Pause between Lambda attempts (real Lambda waits about 1 minute); 0 unless the case needs time to pass. */
  retryDelayMs?: number;
  /** Expected JIRA issues at the end. */
  issues: number;
  /** A log line that says what happened. */
  log: RegExp;
  /** Emails: exact count, or 'none' when the topic is unreachable. */
  emails: number | 'none' | 'at-least-one';
  /** The email text (failure emails say the ticket failed). */
  emailText?: RegExp;
  /** createIssue requests in total (checks what is and is not retried). */
  createRequests?: number;
  /** Matched against `<errorType>: <errorMessage>` of the DLQ record. */
  dlqError?: RegExp;
  cleanTraffic?: boolean;
  /**
   * A known handler defect (reported): the test asserts that the run fails with exactly this symptom, so
   * the suite stays green while the defect exists and turns red once it is fixed (then drop the flag).
   */
}

const retriedAndSucceeded: Case[] = [
  {
    name: '429 with Retry-After: 1',
    once: [faults.rateLimited(1)],
    final: 'success',
    lambdaAttempts: 1,
    issues: 1,
    createRequests: 2,
    log: /retrying.*"status":429/i,
    emails: 1,
    emailText: /OPS-1 \(created\)/,
  },
  {
    name: '429 without Retry-After (backoff with jitter)',
    once: [faults.rateLimited(), faults.rateLimited()],
    final: 'success',
    lambdaAttempts: 1,
    issues: 1,
    createRequests: 3,
    log: /retrying.*"status":429/i,
    emails: 1,
  },
  // A 5xx or a reset may follow an applied create: never re-posted in the invocation. The label search finds
  // nothing (nothing was created), the invocation fails after the email, and the Lambda retry creates it.
  ...[500, 502, 503].map((status): Case => ({
    name: `HTTP ${status} (outcome unknown: not re-posted in the invocation; the Lambda retry creates it)`,
    once: [faults.status(status)],
    final: 'success',
    lambdaAttempts: 2,
    issues: 1,
    createRequests: 2,
    log: new RegExp(`may have been applied; checking before any retry.*"status":${status}`, 'i'),
    emails: 2,
    emailText: /JIRA may have created the issue, so it is not posted again in this invocation/,
  })),
  {
    name: 'a response that never arrives (client timeout): not re-posted at once; the Lambda retry creates it',
    timeoutMs: 250,
    once: [faults.hang()],
    final: 'success',
    lambdaAttempts: 2,
    issues: 1,
    createRequests: 2,
    log: /timed out after 250 ms; JIRA may have created the issue, so it is not posted again/,
    emails: 2,
  },
  {
    name: 'connection reset, then 201 (outcome unknown: the Lambda retry creates it)',
    once: [faults.reset()],
    final: 'success',
    lambdaAttempts: 2,
    issues: 1,
    createRequests: 2,
    log: /may have been applied; checking before any retry.*"status":0/i,
    emails: 2,
  },
  {
    name: 'a non-JSON 201 body (nothing created): Lambda retry creates the issue',
    once: [faults.nonJson(201)],
    final: 'success',
    lambdaAttempts: 2,
    issues: 1,
    log: /non-JSON 201 response/,
    // a failure email first, then the final one when the retry succeeds
    emails: 2,
  },
  {
    name: 'a non-JSON 200 body (nothing created): Lambda retry creates the issue',
    once: [faults.nonJson(200)],
    final: 'success',
    lambdaAttempts: 2,
    issues: 1,
    log: /non-JSON 200 response/,
    emails: 2,
  },
];

/** JIRA created the issue but the handler never saw the answer: retries must not create a second one. */
const lostResponses: Case[] = [
  {
    name: 'issue created, then the response is lost (timeout)',
    timeoutMs: 250,
    once: [faults.lostResponse('hang')],
    final: 'success',
    issues: 1,
    log: /Found the issue of an unanswered create/,
    emails: 1,
  },
  {
    name: 'issue created, then the connection is reset',
    once: [faults.lostResponse('reset')],
    final: 'success',
    issues: 1,
    log: /Found the issue of an unanswered create/,
    emails: 1,
  },
  {
    name: 'issue created, then a proxy answers 502',
    once: [faults.lostResponse('502')],
    final: 'success',
    issues: 1,
    log: /Found the issue of an unanswered create/,
    emails: 1,
  },
  {
    name: 'issue created, then a non-JSON 201 body (the Lambda retry adopts it by its claim label)',
    once: [faults.lostResponse('nonJson')],
    final: 'success',
    lambdaAttempts: 2,
    issues: 1,
    log: /non-JSON 201/,
    emails: 2,
  },
  {
    name: 'issue created, but slower than the client timeout: the Lambda retry adopts it by its claim label',
    timeoutMs: 250,
    once: [{ ...faults.slow(600), label: 'slow 600ms' }],
    final: 'success',
    lambdaAttempts: 2,
    // JIRA finishes the slow create (600 ms) before Lambda's retry, as it would within the real ~1 minute.
    retryDelayMs: 1000,
    issues: 1,
    log: /Took over an unfinished claim/,
    emails: 2,
  },
];

const failedIntoDlq: Case[] = [
  {
    name: '401 Unauthorized on every request (the secret is re-read and the request tried once more, each time)',
    always: faults.unauthorized(),
    final: 'dlq',
    issues: 0,
    createRequests: 6,
    log: /token rejected after re-reading the secret arn:aws:secretsmanager:/,
    emails: 1,
    emailText: /could not be created.*HTTP 401.*token rejected after re-reading the secret arn:aws:secretsmanager:/,
    dlqError:
      /token rejected after re-reading the secret arn:aws:secretsmanager:us-east-1:\d{12}:secret:secret-jira-api-/,
  },
  {
    name: '403 Forbidden (not retried within an invocation)',
    always: faults.forbidden(),
    final: 'dlq',
    issues: 0,
    createRequests: 3,
    log: /HTTP 403/,
    emails: 1,
    emailText: /could not be created.*HTTP 403/,
    dlqError: /HTTP 403/,
  },
  {
    name: "400 ErrorCollection (Field 'x' is required; not retried)",
    always: faults.badRequest(),
    final: 'dlq',
    issues: 0,
    createRequests: 3,
    log: /HTTP 400.*Field 'x' is required/,
    emails: 1,
    emailText: /Field 'x' is required/,
    dlqError: /Field 'x' is required/,
  },
  {
    name: '429 on every request (no Retry-After)',
    always: faults.rateLimited(),
    maxAttempts: 2,
    final: 'dlq',
    issues: 0,
    log: /"status":429/,
    emails: 1,
    dlqError: /HTTP 429/,
  },
  {
    name: 'a response that never arrives, every time',
    always: faults.hang(),
    maxAttempts: 2,
    timeoutMs: 150,
    final: 'dlq',
    issues: 0,
    log: /timed out after 150 ms/,
    emails: 1,
    dlqError: /timed out/,
  },
  {
    name: 'connection reset, every time',
    always: faults.reset(),
    maxAttempts: 2,
    final: 'dlq',
    issues: 0,
    log: /network error/,
    emails: 1,
    dlqError: /network error/,
  },
  {
    name: 'connection refused',
    env: async () => ({ JIRA_BASE_URL: await closedPortUrl() }),
    maxAttempts: 2,
    final: 'dlq',
    issues: 0,
    createRequests: 0,
    log: /ECONNREFUSED/,
    emails: 1,
    dlqError: /ECONNREFUSED/,
  },
  {
    name: 'Secrets Manager: the secret does not exist',
    env: () => ({
      JIRA_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:secret-jira-api-missing-AbCdEf',
    }),
    final: 'dlq',
    issues: 0,
    createRequests: 0,
    log: /secret-jira-api-missing.*ResourceNotFoundException|ResourceNotFoundException.*secret-jira-api-missing/,
    emails: 1,
    emailText: /could not be created/,
    dlqError: /secret/i,
  },
  {
    name: 'DynamoDB: the incident table does not exist (no lock, so no JIRA call)',
    env: () => ({ INCIDENT_TABLE_NAME: 'ddb-jira-incidents-missing' }),
    final: 'dlq',
    issues: 0,
    createRequests: 0,
    log: /ResourceNotFoundException/,
    emails: 'at-least-one',
    emailText: /could not be created/,
    dlqError:
      /^AwsCallError: DynamoDB UpdateItem on table ddb-jira-incidents-missing failed: ResourceNotFoundException: /,
  },
  {
    name: 'SNS: the alert topic does not exist (the issue is still created, once)',
    env: () => ({ ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:sns-alerts-missing' }),
    final: 'dlq',
    issues: 1,
    createRequests: 1,
    log: /Could not publish the email notification/,
    emails: 'none',
    dlqError:
      /^AwsCallError: SNS Publish to arn:aws:sns:us-east-1:\d{12}:sns-alerts-missing failed: NotFound(Exception)?: /,
  },
];

describeWithMoto('incident handler: fault injection', () => {
  const w = useWorld();

  async function run(c: Case) {
    const world = w();
    const { jira, mailbox, logs } = world;
    const overrides: Record<string, string> = { ...(c.env ? await c.env(world) : {}) };
    if (c.maxAttempts) overrides.JIRA_MAX_ATTEMPTS = String(c.maxAttempts);
    if (c.timeoutMs) overrides.JIRA_REQUEST_TIMEOUT_MS = String(c.timeoutMs);
    if (Object.keys(overrides).length) world.configure(overrides);
    if (c.once) jira.inject('createIssue', ...c.once);
    if (c.always) jira.injectAlways('*', c.always);
    const name = alarmName('critical', 'fault');
    const event = alarmEvent({ alarmName: name, state: 'ALARM' });

    const inv = await world.asyncInvoker({ budgetMs: BUDGET_MS, retryDelayMs: c.retryDelayMs }).invoke(event);
    await jira.idle(); // slow requests have landed before we count issues
    const context = () => `\n${describeRun(jira, inv.attempts)}\nlogs:\n${logs.text().slice(-4000)}`;

    expect({ final: inv.final, why: inv.attempts.map((a) => a.error?.errorMessage ?? 'ok') }).toEqual(
      expect.objectContaining({ final: c.final }),
    );
    if (c.lambdaAttempts) expect(inv.attempts).toHaveLength(c.lambdaAttempts);
    // no duplicate issue, ever
    if (jira.issues.length !== c.issues)
      throw new Error(`expected ${c.issues} issue(s), got ${jira.issues.length}${context()}`);
    if (c.createRequests !== undefined) expect(jira.requestsTo('createIssue')).toHaveLength(c.createRequests);
    if (!logs.has(c.log)) throw new Error(`no log line matches ${c.log}${context()}`);
    // the JIRA token never appears in the logs
    expect(logs.text()).not.toContain(world.resources.secret.apiToken);

    const emails = await mailbox.emails();
    if (c.emails === 'none') expect(emails).toEqual([]);
    else if (c.emails === 'at-least-one') expect(emails.length).toBeGreaterThanOrEqual(1);
    else expect(emails).toHaveLength(c.emails);
    for (const e of emails) expect(e.subject).toContain(name);
    if (c.emailText) expect(emails.map((e) => e.message).join('\n---\n')).toMatch(c.emailText);

    const dlq = await mailbox.dlq();
    if (c.final === 'dlq') {
      expect(dlq).toHaveLength(1);
      expect(dlq[0].requestPayload).toEqual(event);
      if (c.emails !== 'none') {
        expect(emails[0].subject).toMatch(/JIRA FAILED/);
        expect(emails[0].message).toMatch(/dead-letter queue/);
      }
      if (c.dlqError) {
        expect(`${dlq[0].responsePayload.errorType}: ${dlq[0].responsePayload.errorMessage}`).toMatch(c.dlqError);
      }
    } else {
      expect(dlq).toEqual([]);
      expect(single(inv.result)).toEqual(expect.objectContaining({ outcome: 'created', issueKey: jira.issues[0].key }));
      const last = emails[emails.length - 1];
      expect(last.message).toContain(`${jira.url}/browse/${jira.issues[0].key}`);
    }
    if (c.cleanTraffic !== false) expect(jira.violations).toEqual([]);
    return inv;
  }

  describe('JIRA fails transiently: retried and succeeded', () => {
    test.each(retriedAndSucceeded.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await run(c);
      expectCleanJiraTraffic(w().jira);
    });
  });

  describe('JIRA applied the request but the answer was lost: no duplicate issue', () => {
    test.each(lostResponses.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await run(c);
    });
  });

  describe('persistent failures end in the DLQ, with the email sent when the topic is reachable', () => {
    test.each(failedIntoDlq.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
      await run(c);
    });
  });

  test('a rotated JIRA token: 401 with the cached secret, re-read and tried once more in the same invocation', async () => {
    const { jira, clients, resources, mailbox, logs } = w();
    const first = await w().invoke(alarmEvent({ alarmName: alarmName('critical', 'rotate-a'), state: 'ALARM' }));
    expect(single(first.result).outcome).toBe('created');
    // Rotate: JIRA accepts only the new token; the secret is updated; the handler still caches the old one.
    jira.rotateToken('new-token');
    await clients.sm.send(
      new PutSecretValueCommand({
        SecretId: resources.secretArn,
        SecretString: JSON.stringify({ email: 'ops@example.com', apiToken: 'new-token' }),
      }),
    );
    const name = alarmName('critical', 'rotate-b');
    const inv = await w()
      .asyncInvoker({ budgetMs: BUDGET_MS })
      .invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(inv.final).toBe('success');
    expect(inv.attempts).toHaveLength(1); // no failed invocation, no Lambda retry a minute later
    expect(jira.requestsTo('createIssue').map((r) => r.response)).toEqual([201, 401, 201]);
    expect(jira.issuesMentioning(name)).toHaveLength(1);
    expect(logs.has(/JIRA rejected the token; re-reading the secret and trying once more/)).toBe(true);
    expect(logs.text()).not.toContain('new-token');
    const emails = await mailbox.emails();
    expect(emails.map((e) => e.subject)).toEqual([expect.stringContaining('OPS-1'), expect.stringContaining('OPS-2')]);
    expect(emails.some((e) => /FAILED/.test(e.subject))).toBe(false);
    expect(await mailbox.dlq()).toEqual([]);
  });
});

function describeRun(jira: FakeJira, attempts: { ok: boolean; error?: { errorMessage: string } }[]): string {
  return `attempts: ${JSON.stringify(attempts.map((a) => a.error?.errorMessage ?? 'ok'))}\njira: ${jira.describe()}`;
}
