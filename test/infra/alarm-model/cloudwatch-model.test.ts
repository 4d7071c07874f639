/**
 * The model's rules against the examples in the AWS documentation they cite (no synthesis: small templates).
 */
import {
  alarmStateFrom,
  CfnTemplate,
  DOCS,
  evaluateMath,
  IncidentHandlerModel,
  matchesEventPattern,
  matchesFilter,
  MetricFilterModel,
  nearestRankPercentile,
  parseAlarmRule,
  parseFilterPattern,
  parseMathExpression,
  ruleValue,
  World,
} from './cloudwatch-model';

/** "0 - X - X" (oldest left, newest right, as in the documentation) to newest-first datapoints. */
const points = (row: string) =>
  row
    .split(' ')
    .reverse()
    .map((p) => (p === '-' ? undefined : p === 'X'));

describe(`missing data (${DOCS.alarms}, "How alarm state is evaluated when data is missing")`, () => {
  test.each([
    ['0 - X - X', 'OK'],
    ['0 - - - -', 'OK'],
    ['- - - - -', 'ALARM'],
    ['0 X X - X', 'ALARM'],
    ['- - X - -', 'ALARM'],
  ])('3 of 3, evaluation range 5, breaching: %s -> %s', (row, state) => {
    expect(alarmStateFrom(points(row), 3, 3, 'breaching')).toBe(state);
  });

  test.each([
    ['0 - X - X', 'ALARM'],
    ['0 0 X 0 X', 'ALARM'],
    ['0 - X - -', 'ALARM'],
    ['- - - - 0', 'ALARM'],
    ['- - - X -', 'ALARM'],
  ])('2 of 3, evaluation range 5, breaching: %s -> %s', (row, state) => {
    expect(alarmStateFrom(points(row), 3, 2, 'breaching')).toBe(state);
  });

  test.each([
    ['0 - X - -', 'OK'],
    ['- - - - 0', 'OK'],
  ])('2 of 3, notBreaching: %s -> %s', (row, state) => {
    expect(alarmStateFrom(points(row), 3, 2, 'notBreaching')).toBe(state);
  });
});

/** A hub with one alarm on Custom/M (Sum, 5 minutes, 1 of 1, >= 1, breaching) and the handler's ticket pattern. */
function oneAlarm(expression?: string, threshold = 1): World {
  const metric = { Namespace: 'Custom', MetricName: 'M' };
  const hub: CfnTemplate = {
    Resources: {
      Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'bus' } },
      Handler: {
        Type: 'AWS::Lambda::Function',
        Properties: { FunctionName: 'handler', Environment: { Variables: { JIRA_TICKET_ALARM_PATTERN: '^a$' } } },
      },
      Alarm: {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmName: 'a',
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          Threshold: threshold,
          EvaluationPeriods: 1,
          TreatMissingData: 'breaching',
          ...(expression
            ? {
                Metrics: expression.startsWith('SELECT')
                  ? [{ Id: 'q', Expression: expression, Period: 300, ReturnData: true }]
                  : [
                      { Id: 'e', Expression: expression, ReturnData: true },
                      { Id: 'm', MetricStat: { Metric: metric, Period: 300, Stat: 'Sum' }, ReturnData: false },
                    ],
              }
            : { ...metric, Period: 300, Statistic: 'Sum' }),
        },
      },
      Composite: {
        Type: 'AWS::CloudWatch::CompositeAlarm',
        Properties: {
          AlarmName: 'c',
          AlarmRule: { 'Fn::Join': ['', ['ALARM("', { 'Fn::GetAtt': ['Alarm', 'Arn'] }, '")']] },
        },
      },
    },
  };
  return new World(hub, { Resources: {} }, '111111111111', { hubDeployedAt: 0 });
}
const M = { namespace: 'Custom', metricName: 'M', dimensions: {} };

describe(`sliding window evaluated every minute (${DOCS.alarms}, ${DOCS.evaluationWindow})`, () => {
  test('"at the end of minute 6, the alarm is evaluated based on the data from minutes 2 to 6"', () => {
    const world = oneAlarm();
    // A 0 every minute, and a breaching 1 in (1-based) minute 1 only.
    for (let m = 0; m < 20; m++) world.hub.metrics.put(M, m, m + 1, [m === 0 ? 1 : 0]);
    const states: string[] = [];
    for (let t = 1; t <= 7; t++) {
      world.run(t);
      states.push(world.hub.stateOf('a'));
    }
    // Boundaries 1..5 (ends of minutes 1..5) include minute 1; the end of minute 6 reads minutes 2 to 6.
    expect(states).toEqual(['ALARM', 'ALARM', 'ALARM', 'ALARM', 'ALARM', 'OK', 'OK']);
  });

  test('late data counts once it arrives ("all real data points in the evaluation range are included")', () => {
    const world = oneAlarm();
    for (let m = 0; m < 20; m++) world.hub.metrics.put(M, m, m + 1, [0]);
    world.hub.metrics.put(M, 10, 14, [1]); // minute 10's breaching value arrives 3 minutes late
    world.run(13);
    expect(world.hub.stateOf('a')).toBe('OK');
    world.run(14);
    expect(world.hub.stateOf('a')).toBe('ALARM');
  });

  test('state changes are events, one per transition; the ticket pattern opens one ticket per alarm and account', () => {
    const world = oneAlarm();
    for (let m = 0; m < 40; m++) world.hub.metrics.put(M, m, m + 1, [m >= 10 && m < 12 ? 1 : 0]);
    world.run(40);
    expect(world.changesOf('a').map((c) => `${c.minute} ${c.previousState}->${c.newState}`)).toEqual([
      '1 INSUFFICIENT_DATA->OK',
      '11 OK->ALARM',
      '17 ALARM->OK',
    ]);
  });
});

describe(`metric math (${DOCS.metricMath})`, () => {
  const env = (series: Record<string, (number | undefined)[]>) => ({
    length: 3,
    series: (id: string) => series[id],
    insightRuleMetric: () => [undefined, undefined, undefined],
  });
  const run = (expression: string, series: Record<string, (number | undefined)[]>) =>
    evaluateMath(parseMathExpression(expression), env(series));

  test('FILL fills the gaps of a series with data, and (conservatively) not a range without any', () => {
    expect(run('FILL(m, 0)', { m: [undefined, 3, undefined] })).toEqual([0, 3, 0]);
    expect(run('FILL(m, 0)', { m: [undefined, undefined, undefined] })).toEqual([undefined, undefined, undefined]);
  });

  test('IF, arithmetic, division by zero and SUM([...])', () => {
    const series = { s: [1, 0, 5], p: [100, 0, undefined] };
    expect(run('IF(p > 0, 100 * FILL(s, 0) / p, 0)', series)).toEqual([1, 0, undefined]);
    expect(run('s / p', series)).toEqual([0.01, undefined, undefined]);
    expect(run('SUM([s, p])', series)).toEqual([101, 0, 5]);
  });

  test(`a Metrics Insights SELECT SUM in the hub sums the hub and every linked account (${DOCS.crossAccountObservability})`, () => {
    const world = oneAlarm('SELECT SUM(M) FROM "Custom"', 3);
    const member = world.addMember('222222222222', { deployedAt: 0 });
    for (let m = 0; m < 10; m++) {
      world.hub.metrics.put(M, m, m + 1, [m === 7 ? 1 : 0]);
      member.metrics.put(M, m, m + 1, [m === 7 ? 2 : 0]);
    }
    world.run(7);
    expect(world.hub.stateOf('a')).toBe('OK');
    world.run(8); // minute 7's values (1 in the hub, 2 in the member) arrive at the end of minute 7
    expect(world.hub.stateOf('a')).toBe('ALARM');
  });
});

describe(`metric filters (${DOCS.metricFilters}, ${DOCS.filterPatternSyntax})`, () => {
  const filter = (defaultValue?: number) =>
    new MetricFilterModel(
      'f',
      '/app',
      '{ ($.event = "payment_processed") && ($.latencyMs >= 2000) }',
      M,
      '$.latencyMs',
      defaultValue,
    );

  test('a matching event publishes its value; no match publishes the default value; no event publishes nothing', () => {
    const slow = { event: 'payment_processed', latencyMs: 2500 };
    const fast = { event: 'payment_processed', latencyMs: 300 };
    expect(filter(0).valuesFor([slow, fast, slow])).toEqual([2500, 2500]);
    expect(filter(0).valuesFor([fast])).toEqual([0]);
    expect(filter().valuesFor([fast])).toEqual([]);
    expect(filter(0).valuesFor([])).toEqual([]);
  });

  test('JSON patterns: exact strings, `*` as a wildcard, || and &&, numeric comparison', () => {
    const level = parseFilterPattern('{ ($.level = "ERROR") || ($.errorCode = "Client.RequestLimitExceeded") }');
    expect(matchesFilter(level, { level: 'ERROR' })).toBe(true);
    expect(matchesFilter(level, { level: 'ERRORS' })).toBe(false);
    expect(matchesFilter(level, { errorCode: 'Client.RequestLimitExceeded' })).toBe(true);
    expect(matchesFilter(parseFilterPattern('{ $.level = "ERR*" }'), { level: 'ERRORS' })).toBe(true);
    expect(matchesFilter(parseFilterPattern('{ $.latencyMs >= 2000 }'), { latencyMs: '2500' })).toBe(false);
  });

  test('nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(nearestRankPercentile(values, 99)).toBe(99);
    expect(nearestRankPercentile(values, 50)).toBe(50);
    expect(nearestRankPercentile([5], 99)).toBe(5);
  });
});

describe(`composite alarms and events (${DOCS.compositeAlarms}, ${DOCS.eventPatterns})`, () => {
  test('ALARM(x) is TRUE only in ALARM: OK and INSUFFICIENT_DATA are FALSE', () => {
    const rule = parseAlarmRule('ALARM("x") AND NOT OK("y")');
    const value = (x: string, y: string) => ruleValue(rule, (name) => (name === 'x' ? x : y) as never);
    expect(value('ALARM', 'ALARM')).toBe(true);
    expect(value('ALARM', 'OK')).toBe(false);
    expect(value('OK', 'ALARM')).toBe(false);
    expect(value('INSUFFICIENT_DATA', 'ALARM')).toBe(false);
  });

  test('a composite follows its child at the same evaluation (child named by ARN, same account and region)', () => {
    const world = oneAlarm();
    for (let m = 0; m < 20; m++) world.hub.metrics.put(M, m, m + 1, [m >= 5 && m < 7 ? 1 : 0]);
    world.run(20);
    const timeline = (name: string) => world.changesOf(name).map((c) => `${c.minute} ${c.newState}`);
    expect(timeline('c')).toEqual(timeline('a'));
  });

  test('event patterns: values, prefix, anything-but', () => {
    const event = { source: 'aws.cloudwatch', detail: { state: { value: 'OK' }, alarmName: 'alarm-x-dev' } };
    expect(matchesEventPattern({ source: ['aws.cloudwatch'] }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { alarmName: [{ suffix: '-dev' }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { state: { value: [{ 'anything-but': 'OK' }] } } }, event)).toBe(false);
  });
});

describe(`the incident handler's resolve grace period (lambda/jira-incident/resolve.ts, ${DOCS.sqsMessageTimers})`, () => {
  const change = (minute: number, previousState: 'OK' | 'ALARM', newState: 'OK' | 'ALARM') => ({
    minute,
    accountId: '222222222222',
    region: 'us-east-1',
    alarmName: 'composite-payments-degraded-dev',
    alarmType: 'composite' as const,
    previousState,
    newState,
  });

  test('an OK resolves only after the grace period without a newer ALARM', () => {
    const handler = new IncidentHandlerModel(/^composite-/, 10);
    handler.handle(change(5, 'OK', 'ALARM'));
    handler.handle(change(8, 'ALARM', 'OK'));
    handler.tick(17);
    expect(handler.tickets[0].resolvedAt).toBeUndefined();
    handler.tick(18);
    expect(handler.tickets.map((t) => [t.openedAt, t.resolvedAt])).toEqual([[5, 18]]);
    // Resolved: the next ALARM opens a new ticket.
    handler.handle(change(30, 'OK', 'ALARM'));
    expect(handler.tickets).toHaveLength(2);
  });

  test('an ALARM within the grace period is a flap: it comments, the ticket stays open, one ticket in all', () => {
    const handler = new IncidentHandlerModel(/^composite-/, 10);
    handler.handle(change(5, 'OK', 'ALARM'));
    handler.handle(change(8, 'ALARM', 'OK'));
    handler.handle(change(12, 'OK', 'ALARM'));
    handler.tick(30);
    expect(handler.tickets.map((t) => [t.openedAt, t.resolvedAt, t.comments])).toEqual([[5, undefined, 1]]);
    expect(handler.flaps.map((c) => c.minute)).toEqual([12]);
    // Every state change was emailed at once, the OK included.
    expect(handler.notifications.map((c) => c.minute)).toEqual([5, 8, 12]);
  });

  test('without a grace period (RESOLVE_GRACE_SECONDS 0), the OK resolves at once and the flap opens a second ticket', () => {
    const handler = new IncidentHandlerModel(/^composite-/);
    handler.handle(change(5, 'OK', 'ALARM'));
    handler.handle(change(8, 'ALARM', 'OK'));
    handler.handle(change(12, 'OK', 'ALARM'));
    expect(handler.tickets.map((t) => [t.openedAt, t.resolvedAt])).toEqual([
      [5, 8],
      [12, undefined],
    ]);
  });
});
