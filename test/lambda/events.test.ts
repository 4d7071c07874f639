import { InvalidEventError } from '../../lambda/jira-incident/errors';
import { alarmConsoleUrl, parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import { fixture } from './helpers/harness';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test data is mutated by path

const SINGLE = 'eventbridge-alarm-state-change-single-metric.awsdocs.json';
const SNS = 'sns-event-cloudwatch-alarm-single-metric.aws-lambda-go.json';
const ACTION = 'lambda-alarm-action-metric.derived.json';

function change(event: unknown): AlarmStateChange {
  const parsed = parseEvent(event);
  if (parsed.kind !== 'change') throw new Error(`expected a change, got ${parsed.kind}`);
  return parsed.change;
}

describe('parsing each input kind into one AlarmStateChange', () => {
  test('EventBridge single-metric alarm (AWS docs sample)', () => {
    expect(change(fixture(SINGLE))).toEqual({
      eventId: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      changeId: expect.stringMatching(/^sc-[0-9a-f]{40}$/),
      input: 'eventbridge',
      alarmName: 'ServerCpuTooHigh',
      alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh',
      accountId: '123456789012',
      region: 'us-east-1',
      newState: 'ALARM',
      previousState: 'OK',
      reason: expect.stringContaining('was greater than the threshold (50.0)'),
      reasonData: expect.stringContaining('"recentDatapoints":[99.50160229693434]'),
      timestamp: '2019-10-02T17:04:40.989Z',
      stateAtMs: Date.parse('2019-10-02T17:04:40.989Z'),
      description: 'Goes into alarm when server CPU utilization is too high!',
      alarmType: 'single',
      alarmRule: undefined,
      metrics: ['AWS/EC2 CPUUtilization InstanceId=i-12345678901234567 Average/300s'],
      suppressedBy: undefined,
      suppressedReason: undefined,
    });
  });

  test.each([
    ['eventbridge-alarm-state-change-metric-math.derived.json', 'metricMath', 'ALARM', 'INSUFFICIENT_DATA'],
    ['eventbridge-alarm-state-change-anomaly-detection.derived.json', 'anomaly', 'ALARM', 'OK'],
    ['eventbridge-alarm-state-change-composite.derived.json', 'composite', 'ALARM', 'OK'],
    ['eventbridge-alarm-state-change-ok.derived.json', 'single', 'OK', 'ALARM'],
    ['eventbridge-alarm-state-change-insufficient-data.derived.json', 'single', 'INSUFFICIENT_DATA', 'ALARM'],
  ])('%s -> type %s, %s (was %s)', (name, alarmType, newState, previousState) => {
    expect(change(fixture(name))).toMatchObject({ alarmType, newState, previousState, input: 'eventbridge' });
  });

  test('metric math lines name the expression; anomaly alarms are recognised by ANOMALY_DETECTION_BAND', () => {
    expect(change(fixture('eventbridge-alarm-state-change-metric-math.derived.json')).metrics[0]).toBe(
      'e1 = SUM(METRICS())',
    );
    expect(change(fixture('eventbridge-alarm-state-change-anomaly-detection.derived.json'))).toMatchObject({
      accountId: '210987654321',
      metrics: ['AWS/ApiGateway Latency ApiName=payments p99/60s', 'ad1 = ANOMALY_DETECTION_BAND(m1, 2)'],
    });
  });

  test('composite: alarm rule kept; actionsSuppressedBy marks suppression, "None" does not', () => {
    const plain = change(fixture('eventbridge-alarm-state-change-composite.derived.json'));
    expect(plain).toMatchObject({
      alarmRule: 'ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)',
      suppressedBy: undefined,
    });
    const suppressed = change(fixture('eventbridge-alarm-state-change-composite-suppressed.derived.json'));
    expect(suppressed).toMatchObject({
      suppressedBy: 'WaitPeriod',
      suppressedReason: 'Actions suppressed by WaitPeriod',
    });
    const none = fixture<Json>('eventbridge-alarm-state-change-composite.derived.json');
    none.detail.state.actionsSuppressedBy = 'None';
    expect(change(none).suppressedBy).toBeUndefined();
  });

  test('SNS-wrapped notification (aws-lambda-go sample): placeholder ARN region falls back to Region', () => {
    const parsed = parseEvent(fixture(SNS));
    expect(parsed).toEqual({
      kind: 'sns',
      records: [
        {
          change: expect.objectContaining({
            eventId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
            input: 'sns',
            alarmName: 'EXAMPLE',
            accountId: '123456789012',
            region: 'EXAMPLE',
            newState: 'ALARM',
            previousState: 'INSUFFICIENT_DATA',
            timestamp: '2015-06-03T17:43:27.123Z',
            alarmType: 'single',
            metrics: ['AWS/EC2 NetworkOut InstanceId=TestInstance AVERAGE/60s'],
          }),
        },
      ],
    });
  });

  test('SNS with two records: the region code comes from the alarm ARN, not the display name', () => {
    const parsed = parseEvent(fixture('sns-event-cloudwatch-alarm-two-records.derived.json'));
    if (parsed.kind !== 'sns') throw new Error('expected sns');
    expect(parsed.records).toHaveLength(2);
    expect(parsed.records[1]).toEqual({
      change: expect.objectContaining({
        alarmName: 'payments-errors-critical',
        region: 'us-east-1',
        accountId: '210987654321',
      }),
    });
  });

  test('SNS composite and metric-math notifications are classified', () => {
    const e = fixture<Json>(SNS);
    const message = JSON.parse(e.Records[0].Sns.Message);
    e.Records[0].Sns.Message = JSON.stringify({ ...message, Trigger: undefined, AlarmRule: 'ALARM(a) AND ALARM(b)' });
    const composite = parseEvent(e);
    expect(composite.kind === 'sns' && 'change' in composite.records[0] && composite.records[0].change.alarmType).toBe(
      'composite',
    );
    e.Records[0].Sns.Message = JSON.stringify({
      ...message,
      Trigger: {
        Metrics: [
          { Id: 'e1', Expression: 'm1/m2*100' },
          { Id: 'm1', MetricStat: { Metric: { Namespace: 'N', MetricName: 'A' }, Period: 60, Stat: 'Sum' } },
        ],
      },
    });
    const math = parseEvent(e);
    expect(math.kind === 'sns' && 'change' in math.records[0] && math.records[0].change).toMatchObject({
      alarmType: 'metricMath',
      metrics: ['e1 = m1/m2*100', 'N A Sum/60s'],
    });
  });

  test('Lambda alarm action event: deterministic id from ARN, state and timestamp', () => {
    const a = change(fixture(ACTION));
    expect(a).toMatchObject({
      input: 'lambda-action',
      alarmName: 'lambda-demo-metric-alarm',
      alarmArn: 'arn:aws:cloudwatch:us-east-1:444455556666:alarm:lambda-demo-metric-alarm',
      accountId: '444455556666',
      region: 'us-east-1',
      newState: 'ALARM',
      previousState: 'INSUFFICIENT_DATA',
      description: 'Metric Alarm to test Lambda actions',
      alarmType: 'single',
    });
    expect(a.eventId).toMatch(/^action-[0-9a-f]{40}$/);
    expect(change(fixture(ACTION)).eventId).toBe(a.eventId);
    const later = fixture<Json>(ACTION);
    later.alarmData.state.timestamp = '2023-08-04T12:40:15.490+0000';
    expect(change(later).eventId).not.toBe(a.eventId);
  });
});

describe('state change identity (the idempotency key)', () => {
  /** One state change of ServerCpuTooHigh (the EventBridge sample), as each path delivers it. */
  function threePaths(time = '2019-10-02T17:04:40.989+0000') {
    const eb = fixture<Json>(SINGLE);
    eb.detail.state.timestamp = time;
    const arn = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh';
    const sns = fixture<Json>(SNS);
    const message = JSON.parse(sns.Records[0].Sns.Message);
    Object.assign(message, {
      AlarmName: 'ServerCpuTooHigh',
      AWSAccountId: '123456789012',
      AlarmArn: arn,
      NewStateValue: 'ALARM',
      StateChangeTime: time,
    });
    sns.Records[0].Sns.Message = JSON.stringify(message);
    const action = fixture<Json>(ACTION);
    Object.assign(action, { alarmArn: arn, accountId: '123456789012', region: 'us-east-1' });
    action.alarmData.alarmName = 'ServerCpuTooHigh';
    action.alarmData.state.value = 'ALARM';
    action.alarmData.state.timestamp = time;
    const snsParsed = parseEvent(sns);
    if (snsParsed.kind !== 'sns' || !('change' in snsParsed.records[0])) throw new Error('expected an SNS change');
    return [change(eb), snsParsed.records[0].change, change(action)];
  }

  test('EventBridge, SNS and the Lambda alarm action deliver one state change with one changeId', () => {
    const [eb, sns, action] = threePaths();
    expect(new Set([eb.eventId, sns.eventId, action.eventId]).size).toBe(3);
    expect(sns.changeId).toBe(eb.changeId);
    expect(action.changeId).toBe(eb.changeId);
    expect([eb, sns, action].map((c) => c.stateAtMs)).toEqual(Array(3).fill(Date.parse('2019-10-02T17:04:40.989Z')));
  });

  test('the same instant written differently is the same change; another time, state, alarm, account or region is not', () => {
    const [base] = threePaths();
    expect(threePaths('2019-10-02T17:04:40.989Z')[0].changeId).toBe(base.changeId);
    expect(threePaths('2019-10-02T19:04:40.989+0200')[0].changeId).toBe(base.changeId);
    expect(threePaths('2019-10-02T17:04:40.990+0000')[0].changeId).not.toBe(base.changeId);
    const variants = [
      (e: Json) => (e.detail.state.value = 'OK'),
      (e: Json) => (e.detail.alarmName = 'ServerCpuTooHigh2'),
      (e: Json) => (e.account = '210987654321'),
      (e: Json) => (e.region = 'eu-west-1'),
    ];
    for (const vary of variants) {
      const e = fixture<Json>(SINGLE);
      vary(e);
      expect(change(e).changeId).not.toBe(base.changeId);
    }
  });
});

describe('ignored inputs', () => {
  test.each([
    [
      'configuration change',
      fixture('eventbridge-alarm-configuration-change.derived.json'),
      /CloudWatch Alarm Configuration Change' is not handled/,
    ],
    ['scheduled event', fixture('eventbridge-scheduled-event.derived.json'), /Scheduled Event' is not handled/],
    [
      'state change from another source',
      { ...fixture(SINGLE), source: 'my.app' },
      /source 'my.app' is not aws.cloudwatch/,
    ],
    [
      'SQS records',
      { Records: [{ eventSource: 'aws:sqs', EventSource: 'aws:sqs', body: '{}' }] },
      /Records from 'aws:sqs'/,
    ],
    ['unknown object', { hello: 'world' }, /not an EventBridge event, SNS notification or CloudWatch alarm action/],
  ])('%s', (_name, event, reason) => {
    const parsed = parseEvent(event);
    expect(parsed.kind).toBe('ignored');
    expect(parsed.kind === 'ignored' && parsed.reason).toMatch(reason);
  });

  test('SNS messages that are not alarm notifications are ignored per record', () => {
    const e = fixture<Json>(SNS);
    e.Records[0].Sns.Message = 'plain text';
    e.Records.push(structuredClone(e.Records[0]));
    e.Records[1].Sns.Message = JSON.stringify({ hello: 'world' });
    const parsed = parseEvent(e);
    expect(parsed).toEqual({
      kind: 'sns',
      records: [
        { ignored: 'Records[0]: SNS message is not JSON, so not a CloudWatch alarm notification' },
        { ignored: 'Records[1]: SNS message is not a CloudWatch alarm notification' },
      ],
    });
  });
});

describe('malformed alarm events fail with the field path and what was expected', () => {
  const eb = (mutate: (e: Json) => void) => () => {
    const e = fixture<Json>(SINGLE);
    mutate(e);
    return e;
  };
  const action = (mutate: (e: Json) => void) => () => {
    const e = fixture<Json>(ACTION);
    mutate(e);
    return e;
  };

  test.each<[string, () => unknown, RegExp]>([
    ['null event', () => null, /^event: expected a JSON object, got null$/],
    ['string event', () => 'ALARM', /^event: expected a JSON object, got "ALARM"$/],
    ['missing detail', eb((e) => delete e.detail), /detail: expected object, got nothing \(missing\)/],
    [
      'missing alarmName',
      eb((e) => delete e.detail.alarmName),
      /detail\.alarmName: expected string, got nothing \(missing\)/,
    ],
    ['numeric alarmName', eb((e) => (e.detail.alarmName = 42)), /detail\.alarmName: expected string, got number 42/],
    ['empty alarmName', eb((e) => (e.detail.alarmName = '')), /detail\.alarmName: expected at least 1 characters/],
    [
      'alarmName over 255',
      eb((e) => (e.detail.alarmName = 'x'.repeat(256))),
      /detail\.alarmName: expected at most 255 characters, got a string of 256 characters/,
    ],
    [
      'bad state value',
      eb((e) => (e.detail.state.value = 'FIRING')),
      /detail\.state\.value: expected one of "OK", "ALARM", "INSUFFICIENT_DATA", got "FIRING"/,
    ],
    ['missing state', eb((e) => delete e.detail.state), /detail\.state: expected object, got nothing/],
    [
      'bad timestamp',
      eb((e) => (e.detail.state.timestamp = 'yesterday')),
      /detail\.state\.timestamp: expected an ISO 8601 timestamp, got "yesterday"/,
    ],
    [
      'reason not a string',
      eb((e) => (e.detail.state.reason = ['x'])),
      /detail\.state\.reason: expected string, got an array/,
    ],
    ['short account id', eb((e) => (e.account = '12345')), /account: expected a 12-digit AWS account id, got "12345"/],
    ['bad region', eb((e) => (e.region = 'moon')), /region: expected an AWS region code such as us-east-1, got "moon"/],
    ['missing id', eb((e) => delete e.id), /^Invalid CloudWatch Alarm State Change event: id: expected string/],
    [
      'metrics not an array',
      eb((e) => (e.detail.configuration.metrics = {})),
      /detail\.configuration\.metrics: expected array, got an object/,
    ],
    ['action without state', action((e) => delete e.alarmData.state), /alarmData\.state: expected object, got nothing/],
    [
      'action with a bad ARN',
      action((e) => (e.alarmArn = 'arn:aws:sns:x')),
      /alarmArn: expected a CloudWatch alarm ARN/,
    ],
    ['Records not an array', () => ({ Records: 'x' }), /Records: expected array, got "x"/],
  ])('%s', (_name, make, message) => {
    let error: unknown;
    try {
      parseEvent(make());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as Error).message).toMatch(message);
  });

  test('an SNS record with a malformed alarm message is reported per record', () => {
    const e = fixture<Json>(SNS);
    const message = JSON.parse(e.Records[0].Sns.Message);
    message.AWSAccountId = 1234;
    e.Records[0].Sns.Message = JSON.stringify(message);
    const parsed = parseEvent(e);
    const record = parsed.kind === 'sns' ? parsed.records[0] : undefined;
    expect(record && 'error' in record && record.error.message).toMatch(
      /Records\[0\]\.Sns\.Message\.AWSAccountId: expected string, got number 1234/,
    );
  });

  test('an SNS record without MessageId is reported with its path', () => {
    const e = fixture<Json>(SNS);
    delete e.Records[0].Sns.MessageId;
    const parsed = parseEvent(e);
    const record = parsed.kind === 'sns' ? parsed.records[0] : undefined;
    expect(record && 'error' in record && record.error.message).toMatch(
      /Records\[0\]\.Sns\.MessageId: expected string/,
    );
  });
});

describe('hostile but valid content', () => {
  test.each([
    'api "quoted" \\ backslash',
    'jql" OR project = SECRET OR summary ~ "x',
    'Zahlungsfehler-Überlauf 支付错误 🚨',
    'name.with.dots and spaces',
    '<script>alert(1)</script>',
  ])('alarm name %s is kept exactly', (name) => {
    const e = fixture<Json>(SINGLE);
    e.detail.alarmName = name;
    expect(change(e).alarmName).toBe(name);
  });

  test('huge reasons and descriptions are truncated, control characters removed', () => {
    const e = fixture<Json>(SINGLE);
    e.detail.state.reason = `start\u0000\u0007${'r'.repeat(100_000)}`;
    e.detail.configuration.description = 'd'.repeat(10_000);
    e.detail.state.reasonData = '{'.repeat(50_000);
    const c = change(e);
    expect(c.reason.length).toBeLessThanOrEqual(4000);
    expect(c.reason.startsWith('startrrr')).toBe(true);
    expect(c.reason.endsWith('…')).toBe(true);
    expect(c.description?.length).toBeLessThanOrEqual(4000);
    expect(c.reasonData?.length).toBeLessThanOrEqual(4000);
  });

  test('the console link encodes the alarm name and is only built for real region codes', () => {
    const e = fixture<Json>(SINGLE);
    e.detail.alarmName = 'a/b c#d';
    expect(alarmConsoleUrl(change(e))).toBe(
      'https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/a%2Fb%20c%23d',
    );
    const sns = parseEvent(fixture(SNS));
    const snsChange = sns.kind === 'sns' && 'change' in sns.records[0] ? sns.records[0].change : undefined;
    expect(snsChange && alarmConsoleUrl(snsChange)).toBeUndefined();
  });
});

describe("the product's own events (source observability.hub)", () => {
  const product = (detailType: string, detail: unknown, id = 'p-1') => ({
    version: '0',
    id,
    source: 'observability.hub',
    'detail-type': detailType,
    detail,
  });

  test('the heartbeat is lenient: whatever else the schedule sent, it is a heartbeat', () => {
    expect(
      parseEvent(
        product('CloudWatch Alarm State Change', { heartbeat: true, state: { timestamp: '2024-05-14T10:00:00Z' } }),
      ),
    ).toEqual({
      kind: 'product',
      event: { kind: 'heartbeat', eventId: 'p-1', alarmName: 'heartbeat', scheduledAt: '2024-05-14T10:00:00Z' },
    });
    expect(parseEvent(product('CloudWatch Alarm State Change', { heartbeat: 'yes' }))).toEqual({
      kind: 'ignored',
      reason: 'a state change from observability.hub that is not a heartbeat is not handled',
    });
  });

  test('a maintenance window end, with its time normalised', () => {
    expect(
      parseEvent(product('Maintenance Window Ended', { window: 'db-upgrade', endedAt: '2024-05-14T11:00:00Z' })),
    ).toEqual({
      kind: 'product',
      event: {
        kind: 'maintenance-ended',
        eventId: 'p-1',
        window: 'db-upgrade',
        endedAt: '2024-05-14T11:00:00.000Z',
        endedAtMs: Date.parse('2024-05-14T11:00:00Z'),
      },
    });
    expect(() => parseEvent(product('Maintenance Window Ended', { window: 'db-upgrade', endedAt: 'soon' }))).toThrow(
      /Invalid Maintenance Window Ended event: detail.endedAt: expected an ISO 8601 timestamp/,
    );
  });

  test('a broken delayed resolve is rejected with the field path (it goes to the DLQ with the reason)', () => {
    expect(() => parseEvent(product('Incident Resolve Due', { accountId: '1', changeId: 'x' }))).toThrow(
      InvalidEventError,
    );
    expect(() => parseEvent(product('Incident Resolve Due', { accountId: '1' }))).toThrow(
      /detail.accountId: expected a 12-digit/,
    );
  });

  test('other product detail types are ignored with a reason; aws.cloudwatch events are unchanged', () => {
    expect(parseEvent(product('Something', {}))).toEqual({
      kind: 'ignored',
      reason: "detail-type 'Something' of observability.hub is not handled",
    });
    expect(parseEvent(fixture(SINGLE)).kind).toBe('change');
  });
});
