import 'aws-sdk-client-mock-jest';
import { PublishCommand } from '@aws-sdk/client-sns';
import { loadConfig } from '../../lambda/jira-incident/config';
import { ConfigError } from '../../lambda/jira-incident/errors';
import { BASE_ENV, fixture, setUp, type Harness } from './helpers/harness';

const env = (overrides: Record<string, string | undefined> = {}) => ({ ...BASE_ENV, ...overrides });

describe('loadConfig', () => {
  test('reads every variable and applies the tuning defaults', () => {
    const config = loadConfig(env({ JIRA_BASE_URL: 'https://example.atlassian.net/' }));
    expect(config).toEqual({
      jiraBaseUrl: 'https://example.atlassian.net',
      jiraProjectKey: 'OPS',
      jiraIssueType: 'Incident',
      jiraSecretArn: BASE_ENV.JIRA_SECRET_ARN,
      alertTopicArn: BASE_ENV.ALERT_TOPIC_ARN,
      incidentTableName: BASE_ENV.INCIDENT_TABLE_NAME,
      ticketAlarmPattern: new RegExp(BASE_ENV.JIRA_TICKET_ALARM_PATTERN),
      resolveTransition: 'Done',
      requestTimeoutMs: 5000,
      maxAttempts: 4,
      searchLagMs: 30_000,
      stormMaxNewIssues: 5,
      stormWindowMs: 900_000,
      digestQueueUrl: undefined,
      accountNames: {},
      retryBaseSeconds: 15,
      bufferQueueUrl: undefined,
      resolveGraceSeconds: 0,
      opsCenterEnabled: false,
      maintenanceWindows: [],
      pipelineMetricNamespace: 'Observability/Pipeline',
    });
  });

  test('reads the issue-10 variables the stack sets', () => {
    const config = loadConfig(
      env({
        BUFFER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-buffer-test',
        RESOLVE_GRACE_SECONDS: '600',
        OPSCENTER_ENABLED: 'true',
        MAINTENANCE_WINDOWS: '[]',
        PIPELINE_METRIC_NAMESPACE: 'Observability/Pipeline',
      }),
    );
    expect(config).toMatchObject({
      bufferQueueUrl: 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-buffer-test',
      resolveGraceSeconds: 600,
      opsCenterEnabled: true,
      maintenanceWindows: [],
      pipelineMetricNamespace: 'Observability/Pipeline',
    });
    expect(loadConfig(env({ OPSCENTER_ENABLED: 'false' })).opsCenterEnabled).toBe(false);
  });

  test('reads the queue and storm variables the stack sets', () => {
    const config = loadConfig(
      env({
        STORM_MAX_NEW_ISSUES: '3',
        STORM_WINDOW_SECONDS: '60',
        DIGEST_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-digest-test',
        ACCOUNT_NAMES: JSON.stringify({ '111111111111': 'payments-prod' }),
        QUEUE_RETRY_BASE_SECONDS: '0',
      }),
    );
    expect(config).toMatchObject({
      stormMaxNewIssues: 3,
      stormWindowMs: 60_000,
      digestQueueUrl: 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-digest-test',
      accountNames: { '111111111111': 'payments-prod' },
      retryBaseSeconds: 0,
    });
  });

  test.each([
    ['STORM_MAX_NEW_ISSUES', '0', /STORM_MAX_NEW_ISSUES must be a whole number between 1 and 1000, got '0'/],
    ['STORM_WINDOW_SECONDS', '15m', /STORM_WINDOW_SECONDS must be a whole number between 1 and 86400, got '15m'/],
    ['DIGEST_QUEUE_URL', 'sqs-incident-digest-dev', /DIGEST_QUEUE_URL must be an SQS queue URL/],
    ['ACCOUNT_NAMES', '{"12345": "short"}', /ACCOUNT_NAMES must map 12-digit account ids to names \(entry '12345'/],
    ['ACCOUNT_NAMES', '["a"]', /ACCOUNT_NAMES must be a JSON object/],
    ['OPSCENTER_ENABLED', 'yes', /OPSCENTER_ENABLED must be 'true' or 'false', got 'yes'/],
    [
      'PIPELINE_METRIC_NAMESPACE',
      'AWS/Lambda',
      /PIPELINE_METRIC_NAMESPACE must be a CloudWatch namespace \(not AWS\/...\)/,
    ],
    ['RESOLVE_GRACE_SECONDS', '-1', /RESOLVE_GRACE_SECONDS must be a whole number between 0 and 900/],
    ['MAINTENANCE_WINDOWS', '[{}]', /MAINTENANCE_WINDOWS entry 0 name must be 2-32 lowercase letters/],
  ])('a bad %s names the variable and the expectation', (name, value, message) => {
    expect(() => loadConfig(env({ [name]: value }))).toThrow(message);
  });

  test('reads the optional tuning variables; an empty transition means none', () => {
    const config = loadConfig(
      env({
        JIRA_REQUEST_TIMEOUT_MS: '2500',
        JIRA_MAX_ATTEMPTS: '2',
        JIRA_RESOLVE_TRANSITION: ' ',
        JIRA_SEARCH_LAG_MS: '0',
      }),
    );
    expect(config).toMatchObject({
      requestTimeoutMs: 2500,
      maxAttempts: 2,
      resolveTransition: undefined,
      searchLagMs: 0,
    });
    expect(() => loadConfig(env({ JIRA_SEARCH_LAG_MS: '1h' }))).toThrow(
      /JIRA_SEARCH_LAG_MS must be a whole number between 0 and 600000, got '1h'/,
    );
  });

  test.each([
    'JIRA_BASE_URL',
    'JIRA_PROJECT_KEY',
    'JIRA_ISSUE_TYPE',
    'JIRA_SECRET_ARN',
    'ALERT_TOPIC_ARN',
    'INCIDENT_TABLE_NAME',
    'JIRA_TICKET_ALARM_PATTERN',
  ])('a missing %s is named in the error', (name) => {
    expect(() => loadConfig(env({ [name]: undefined }))).toThrow(new RegExp(`${name} is not set; set it to`));
    expect(() => loadConfig(env({ [name]: '' }))).toThrow(new RegExp(`${name} is empty`));
  });

  test('all problems are reported at once', () => {
    expect(() => loadConfig({})).toThrow(
      /JIRA_BASE_URL is not set.*JIRA_PROJECT_KEY is not set.*JIRA_TICKET_ALARM_PATTERN is not set/,
    );
  });

  test.each([
    ['http://jira.example.com', /JIRA_BASE_URL must use https/],
    ['http://10.0.0.5:8080', /JIRA_BASE_URL must use https/],
    ['ftp://example.atlassian.net', /JIRA_BASE_URL must use https/],
    ['example.atlassian.net', /JIRA_BASE_URL must be an absolute URL/],
    ['https://user:pw@example.atlassian.net', /JIRA_BASE_URL must not contain credentials/],
    ['https://example.atlassian.net?x=1', /must not contain credentials, a query or a fragment/],
  ])('JIRA_BASE_URL %s is rejected', (url, message) => {
    expect(() => loadConfig(env({ JIRA_BASE_URL: url }))).toThrow(message);
    expect(() => loadConfig(env({ JIRA_BASE_URL: url }))).toThrow(ConfigError);
  });

  test.each([
    'http://127.0.0.1:8080',
    'http://localhost:3000/jira/',
    'http://[::1]:9000',
    'https://jira.internal.example/base',
  ])('JIRA_BASE_URL %s is accepted', (url) => {
    expect(loadConfig(env({ JIRA_BASE_URL: url })).jiraBaseUrl).toBe(url.replace(/\/$/, ''));
  });

  test('an invalid JIRA_TICKET_ALARM_PATTERN is named with the regex error', () => {
    expect(() => loadConfig(env({ JIRA_TICKET_ALARM_PATTERN: '^(critical' }))).toThrow(
      /JIRA_TICKET_ALARM_PATTERN is not a valid JavaScript regular expression \(.*Unterminated group.*\), got '\^\(critical'/,
    );
  });

  test.each([
    ['JIRA_REQUEST_TIMEOUT_MS', '0', /JIRA_REQUEST_TIMEOUT_MS must be a whole number between 100 and 60000, got '0'/],
    ['JIRA_REQUEST_TIMEOUT_MS', 'fast', /JIRA_REQUEST_TIMEOUT_MS must be a whole number/],
    ['JIRA_MAX_ATTEMPTS', '11', /JIRA_MAX_ATTEMPTS must be a whole number between 1 and 10/],
    ['JIRA_PROJECT_KEY', 'ops', /JIRA_PROJECT_KEY must be a JIRA project key/],
    ['ALERT_TOPIC_ARN', 'sns-alerts-dev', /ALERT_TOPIC_ARN must be an SNS topic ARN, got 'sns-alerts-dev'/],
    ['INCIDENT_TABLE_NAME', 'a b', /INCIDENT_TABLE_NAME must be a DynamoDB table name/],
  ])('%s=%s is rejected', (name, value, message) => {
    expect(() => loadConfig(env({ [name]: value }))).toThrow(message);
  });
});

describe('handler configuration', () => {
  let h: Harness;
  afterEach(() => h.restore());

  test('a missing variable fails the invocation with its name, before any AWS call', async () => {
    h = setUp({ ALERT_TOPIC_ARN: undefined });
    await expect(h.invoke(fixture('eventbridge-alarm-state-change-single-metric.awsdocs.json'))).rejects.toThrow(
      /ALERT_TOPIC_ARN is not set/,
    );
    expect(h.sns).toHaveReceivedCommandTimes(PublishCommand, 0);
    expect(h.table.updates).toHaveLength(0);
  });

  test('configuration is read once and cached across invocations', async () => {
    h = setUp();
    await h.invoke(fixture('eventbridge-scheduled-event.derived.json'));
    process.env.JIRA_BASE_URL = 'http://not-allowed.example.com';
    await expect(h.invoke(fixture('eventbridge-scheduled-event.derived.json'))).resolves.toMatchObject({
      outcome: 'ignored',
    });
  });
});
