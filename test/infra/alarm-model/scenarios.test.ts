/**
 * Alarm-behaviour scenarios (issue 8, item 7): the SYNTHESIZED alarms, metric filters, zero baseline, composite
 * rules, EventBridge rules and ticket pattern, run through the CloudWatch model (cloudwatch-model.ts) over
 * simulated hours. Each scenario says which real situation it models and asserts which alarms reach ALARM and
 * which tickets open. Thresholds and names come from the templates and lib/alarms.ts, never from here.
 */
import { APP_METRIC_FILTERS, SLOW_PAYMENT_FILTER } from '../../../lib/metrics';
import { MemberParameter } from '../../../lib/member/member-account-stack';
import { synthesize } from '../support';
import {
  DELAYS,
  evaluateMath,
  EXTRA_RANGE_PERIODS,
  LogEvent,
  MetricFilterModel,
  nearestRankPercentile,
  parseMathExpression,
  SimAccount,
  StackContext,
} from './cloudwatch-model';
import { HEALTHY, NIGHT, Scenario, silenceAlarmOf, templatesOf } from './scenario-kit';
import { logLines, random, spread, Traffic } from './traffic';

const templates = templatesOf(synthesize());

const A = '222222222222';
const B = '333333333333';
/** In the steady-state scenarios, accounts have run this long before minute 0 (their deployment is not observed). */
const WARMUP = 90;
const HOUR = 60;

/** A hub that has been running; accounts are added to it, usually deployed WARMUP minutes before minute 0. */
function organization() {
  return new Scenario(templates, { hubDeployedAt: -WARMUP - 10 });
}

/** The synthesized thresholds (member parameter defaults, hub alarms). */
const T = (() => {
  const s = organization();
  return s.thresholds(s.add({ id: A, traffic: () => undefined }));
})();

/** Traffic that is `during` in minutes [from, to) and `otherwise` outside. */
const between =
  (from: number, to: number, during: Traffic | undefined, otherwise: Traffic | undefined = HEALTHY) =>
  (m: number) =>
    m >= from && m < to ? during : otherwise;

/** The alarms of one account that entered ALARM from minute `from` on. */
function alarmedFrom(s: Scenario, account: SimAccount, from: number): string[] {
  return [
    ...new Set(
      s.world.changes
        .filter((c) => c.accountId === account.id && c.minute >= from && c.newState === 'ALARM')
        .map((c) => c.alarmName),
    ),
  ];
}

function ticketsOf(s: Scenario, accountId: string, from: number) {
  return s.world.ticketsSince(from).filter((t) => t.accountId === accountId);
}

describe('brand-new account: the StackSet deploys to a new account that has no application yet', () => {
  // The account joins an organization whose hub has been running; it writes no log event, ever.
  const run = (silenceIsCritical: boolean) => {
    const s = organization().run(0);
    const account = s.add({
      id: A,
      deployedAt: 0,
      parameters: { [MemberParameter.silenceIsCritical]: String(silenceIsCritical) },
      traffic: () => undefined,
    });
    s.run(4 * HOUR);
    return { s, account };
  };
  const quiet = run(false);

  test('opens no ticket', () => {
    expect(ticketsOf(quiet.s, A, 0)).toEqual([]);
  });

  test('no alarm but the silence alarm reaches ALARM', () => {
    expect(alarmedFrom(quiet.s, quiet.account, 0)).toEqual([quiet.s.names.member.silence]);
  });

  test('sends at most one notification: the silence alarm going to ALARM (every state change of every alarm counts)', () => {
    // The handler emails every state change it receives (lambda/jira-incident/processor.ts), INSUFFICIENT_DATA -> OK
    // included; the member forwards every alarm state change to the hub bus (synthesized rules).
    const notified = quiet.s.world.handler.notifications
      .filter((n) => n.accountId === A)
      .map((n) => `${n.alarmName}: ${n.previousState} -> ${n.newState}`);
    expect(notified).toEqual([`${quiet.s.names.member.silence}: INSUFFICIENT_DATA -> ALARM`]);
  });

  test('silenceIsCritical: true opens exactly one ticket, for the critical silence alarm; false opens none', () => {
    const critical = run(true);
    expect(ticketsOf(critical.s, A, 0).map((t) => t.alarmName)).toEqual([critical.s.names.member.silenceCritical]);
    expect(ticketsOf(quiet.s, A, 0)).toEqual([]);
  });
});

describe('quiet account: payments stop for the night, the application keeps logging health checks', () => {
  // A healthy account with day traffic, then 8 hours with health lines only and not a single payment.
  const s = organization();
  const account = s.add({ id: A, deployedAt: -WARMUP, traffic: (m) => (m < 0 ? HEALTHY : NIGHT) });
  s.run(8 * HOUR);

  test('no alarm of the account, and no platform alarm, reaches ALARM', () => {
    expect(alarmedFrom(s, account, 0)).toEqual([]);
    expect(s.world.firstAlarm(s.names.hub.platformErrors, undefined, 0)).toBeUndefined();
    expect(s.world.firstAlarm(s.names.hub.platformSlowPayments, undefined, 0)).toBeUndefined();
  });

  test('opens no ticket', () => {
    expect(s.world.ticketsSince(0)).toEqual([]);
  });
});

describe('healthy busy account: payments with normal latencies and a rare error', () => {
  // Business hours: a payment a second, a tail of 0.2% slow ones, an error every few minutes.
  const busy: Traffic = { ...HEALTHY, payments: 60, slowShare: 0.002 };
  const s = organization();
  const account = s.add({ id: A, deployedAt: -WARMUP, traffic: () => busy });
  s.run(4 * HOUR);

  test('nothing reaches ALARM and no ticket opens', () => {
    expect(alarmedFrom(s, account, 0)).toEqual([]);
    expect(s.world.ticketsSince(0)).toEqual([]);
  });
});

describe('error storm without latency: a bad deploy logs many errors while payments stay fast', () => {
  // For 30 minutes a broken feature logs errors at four times the threshold; payments are unaffected.
  const storm: Traffic = { ...HEALTHY, slowShare: 0, errors: (4 * T.errorsPerPeriod) / T.periodMinutes };
  const s = organization();
  const account = s.add({ id: A, deployedAt: -WARMUP, traffic: between(0, 30, storm) });
  s.run(2 * HOUR);

  test('the errors alarm reaches ALARM (an email), the latency alarm and the composite do not', () => {
    expect(alarmedFrom(s, account, 0)).toEqual([s.names.member.errors]);
    const emailed = s.world.handler.notifications.filter((n) => n.alarmName === s.names.member.errors && n.minute >= 0);
    expect(emailed.map((n) => n.newState)).toEqual(['ALARM', 'OK']);
  });

  test('opens no ticket', () => {
    expect(s.world.ticketsSince(0)).toEqual([]);
  });
});

/** Errors at twice the threshold and 5% of payments slow: a sustained degradation of one account. */
const DEGRADED: Traffic = { ...HEALTHY, errors: (2 * T.errorsPerPeriod) / T.periodMinutes, slowShare: 0.05 };

describe('degradation: errors over the threshold AND more than 1% of payments slow, sustained', () => {
  // A card-network problem: for an hour payments fail and the ones that succeed are slow; then it recovers.
  const START = 0;
  const END = HOUR;
  const s = organization();
  const account = s.add({ id: A, deployedAt: -WARMUP, traffic: between(START, END, DEGRADED) });
  s.run(3 * HOUR);

  test('opens exactly one ticket, for the account composite, within 15 minutes of the start', () => {
    const tickets = s.world.ticketsSince(START);
    expect(tickets.map((t) => [t.accountId, t.alarmName])).toEqual([[A, s.names.member.degraded]]);
    expect(tickets[0].openedAt - START).toBeLessThanOrEqual(15);
  });

  test('the ticket resolves (composite OK) after the recovery', () => {
    const [ticket] = s.world.ticketsSince(START);
    expect(ticket.resolvedAt).toBeGreaterThan(END);
    expect(account.stateOf(s.names.member.degraded)).toBe('OK');
  });

  test('a second account degrading at the same time gets its own ticket', () => {
    const s = organization();
    s.add({ id: A, deployedAt: -WARMUP, traffic: between(START, END, DEGRADED) });
    s.add({ id: B, deployedAt: -WARMUP, traffic: between(START, END, DEGRADED) });
    s.run(2 * HOUR);
    const tickets = s.world.ticketsSince(START);
    expect(tickets.map((t) => [t.accountId, t.alarmName]).sort()).toEqual([
      [A, s.names.member.degraded],
      [B, s.names.member.degraded],
    ]);
  });
});

describe('short burst (a blip during a deployment)', () => {
  // Three minutes of errors that add up to the threshold once, with slow payments, then healthy again.
  test('a blip that reaches the threshold once opens no ticket', () => {
    const blip: Traffic = { ...HEALTHY, errors: T.errorsPerPeriod / 3, slowShare: 0.1 };
    const s = organization();
    s.add({ id: A, deployedAt: -WARMUP, traffic: between(0, 3, blip) });
    s.run(HOUR);
    expect(s.world.ticketsSince(0)).toEqual([]);
  });

  // Evaluation windows slide every minute, so five minutes of three times the error threshold AND slow payments
  // breach two overlapping windows: that is a real, if short, degradation, and it pages once (lib/metrics.ts,
  // ALARM_EVALUATION).
  test('an intense 5-minute degradation pages, once', () => {
    const burst: Traffic = { ...HEALTHY, errors: (3 * T.errorsPerPeriod) / T.periodMinutes, slowShare: 0.1 };
    const s = organization();
    s.add({ id: A, deployedAt: -WARMUP, traffic: between(0, T.periodMinutes, burst) });
    s.run(HOUR);
    expect(s.world.ticketsSince(0).map((x) => x.alarmName)).toEqual([s.names.member.degraded]);
  });
});

describe('logging stops in a healthy account (log agent restart, network partition)', () => {
  const stop = (minutes: number, after = minutes + 90) => {
    const s = organization();
    const account = s.add({ id: A, deployedAt: -WARMUP, traffic: between(0, minutes, undefined) });
    s.run(after);
    return { s, account };
  };

  test.each([10, 20, 30, 40, 50])('for %i minutes: no ticket, degraded stays OK, no silence alarm', (minutes) => {
    const { s, account } = stop(minutes);
    expect(s.world.ticketsSince(0)).toEqual([]);
    expect(alarmedFrom(s, account, 0)).toEqual([]);
  });

  test('for good: the silence alarm fires, not before silenceMinutes', () => {
    const { s, account } = stop(Infinity, 4 * HOUR);
    const t = s.thresholds(account);
    const silence = silenceAlarmOf(account, s.names);
    const at = s.world.firstAlarm(silence, A, 0);
    expect(at).toBeDefined();
    expect(at!).toBeGreaterThanOrEqual(t.silenceMinutes);
    // Late by at most the extra periods of the evaluation range (see EXTRA_RANGE_PERIODS) and the delivery delay.
    expect(at!).toBeLessThanOrEqual(t.silenceMinutes + EXTRA_RANGE_PERIODS * t.periodMinutes + 1 + DELAYS.metricFilter);
    expect(alarmedFrom(s, account, 0)).toEqual([silence]);
    expect(s.world.ticketsSince(0)).toEqual([]);
  });
});

describe('true percentiles: payment latency through the synthesized filters', () => {
  const member = new StackContext(templates.member, A, 'us-east-1');
  const filters = member
    .resources('AWS::Logs::MetricFilter')
    .flatMap(([, p]) => MetricFilterModel.fromTemplate(member, p));
  const filterOf = (metricName: string) => {
    const found = filters.filter((f) => f.metric.metricName === metricName);
    expect(found.length).toBeGreaterThan(0);
    return found[0];
  };
  const latency = filterOf(APP_METRIC_FILTERS.paymentLatency.metricName);
  const latencyMs = Number(member.parameter(MemberParameter.latencyThresholdMs));
  /** A low-volume hour: one payment every 10 minutes, health and error lines every minute. */
  const hour = (withOtherLines: boolean): LogEvent[][] => {
    const rng = random(7);
    return Array.from({ length: 60 }, (_, m) => [
      ...(m % 10 === 0 ? logLines(m, { payments: 1, slowShare: m === 50 ? 1 : 0, slowMs: latencyMs }, rng) : []),
      ...(withOtherLines ? logLines(m, { health: 3, errors: 1 }, rng) : []),
    ]);
  };
  const published = (filter: MetricFilterModel, minutes: LogEvent[][]) =>
    minutes.flatMap((events) => filter.valuesFor(events.map((e) => e.json)));

  test('the latency filter has no default value; the count filters default to 0', () => {
    expect(latency.defaultValue).toBeUndefined();
    for (const name of [
      APP_METRIC_FILTERS.payments.metricName,
      APP_METRIC_FILTERS.errors.metricName,
      SLOW_PAYMENT_FILTER.metricName,
    ]) {
      expect([name, filterOf(name).defaultValue]).toEqual([name, 0]);
    }
  });

  test('non-payment lines publish nothing into the distribution: p50 and p99 are unchanged', () => {
    const paymentsOnly = published(latency, hour(false));
    const mixed = published(latency, hour(true));
    expect(mixed).toEqual(paymentsOnly);
    expect(paymentsOnly).toHaveLength(6);
    expect(nearestRankPercentile(mixed, 50)).toBe(nearestRankPercentile(paymentsOnly, 50));
    expect(nearestRankPercentile(mixed, 99)).toBe(nearestRankPercentile(paymentsOnly, 99));
    expect(nearestRankPercentile(mixed, 99)).toBeGreaterThanOrEqual(latencyMs);
  });

  test('with a (hypothetical) default value of 0, the same hour would collapse p50 to 0', () => {
    const withDefault = new MetricFilterModel(
      latency.name,
      latency.logGroupName,
      latency.filterPattern,
      latency.metric,
      latency.metricValue,
      0,
    );
    const values = published(withDefault, hour(true));
    expect(values.filter((v) => v === 0)).toHaveLength(54);
    expect(nearestRankPercentile(values, 50)).toBe(0);
    expect(nearestRankPercentile(published(latency, hour(true)), 50)).toBeGreaterThan(0);
  });

  test('property: "share of slow payments > 1%" (the synthesized latency alarm) equals "nearest-rank p99 >= threshold"', () => {
    const s = organization();
    const account = s.add({ id: A, traffic: () => undefined });
    const alarm = account.metricAlarm(s.names.member.latency);
    const returned = alarm.queries.get(alarm.returnId)!;
    if (returned.kind !== 'expression') throw new Error('the latency alarm is a metric math expression');
    const tree = parseMathExpression(returned.expression);
    const rng = random(42);
    for (let trial = 0; trial < 400; trial++) {
      const n = 1 + Math.floor(rng() * 300);
      const slowShare = rng() < 0.5 ? rng() * 0.03 : rng() * 0.012;
      const events = Array.from({ length: n }, (_, i) => ({
        level: 'INFO',
        event: 'payment_processed',
        latencyMs: rng() < slowShare ? latencyMs + Math.floor(rng() * 3) : Math.floor(rng() * latencyMs),
        i,
      }));
      const lines = [
        ...events,
        ...Array.from({ length: Math.floor(rng() * 50) }, () => ({ level: 'INFO', event: 'health_check' })),
      ];
      const sumOf = (metricName: string) =>
        filters
          .filter((f) => f.metric.metricName === metricName)
          .flatMap((f) => f.valuesFor(lines))
          .reduce((a, b) => a + b, 0);
      const value = evaluateMath(tree, {
        length: 1,
        series: (id) => {
          const q = alarm.queries.get(id);
          if (q?.kind !== 'metric') throw new Error(`query ${id}`);
          return [sumOf(q.metric.metricName)];
        },
        insightRuleMetric: () => [undefined],
      });
      const share = Array.isArray(value) ? value[0]! : value;
      const p99 = nearestRankPercentile(latency.valuesFor(lines), 99)!;
      expect([n, share > alarm.threshold]).toEqual([n, p99 >= latencyMs]);
    }
  });
});

describe('throttling in application logs: DynamoDB ThrottlingException and EC2 Client.RequestLimitExceeded', () => {
  // The application's AWS calls are throttled for 20 minutes.
  const perCode = T.throttledPerPeriod / T.periodMinutes;
  const throttled: Traffic = {
    ...HEALTHY,
    throttled: { ThrottlingException: perCode, 'Client.RequestLimitExceeded': perCode },
  };
  const s = organization();
  const account = s.add({ id: A, deployedAt: -WARMUP, traffic: between(0, 20, throttled) });
  s.run(HOUR);

  test('the app throttling alarm fires (and only it; no ticket)', () => {
    expect(alarmedFrom(s, account, 0)).toEqual([s.names.member.throttling]);
    expect(s.world.ticketsSince(0)).toEqual([]);
  });

  test('the Contributor Insights rules count both codes', () => {
    const count = account.insightRules.reduce((sum, rule) => sum + account.insightRuleCount(rule.name, 0, 20), 0);
    expect(count).toBe(2 * Math.round(perCode * 20));
  });
});

describe('late data: the degradation is logged 5 minutes late (a buffering log agent)', () => {
  test('still opens the ticket, at most 5 minutes later than on time', () => {
    const opened = (lateness: number) => {
      const s = organization();
      s.add({
        id: A,
        deployedAt: -WARMUP,
        traffic: between(0, HOUR, DEGRADED),
        lateness: (m) => (m >= 0 ? lateness : 0),
      });
      s.run(2 * HOUR);
      const tickets = s.world.ticketsSince(0);
      expect(tickets.map((x) => x.alarmName)).toEqual([s.names.member.degraded]);
      return tickets[0].openedAt;
    };
    const onTime = opened(0);
    const late = opened(5);
    expect(late).toBeGreaterThanOrEqual(onTime);
    expect(late - onTime).toBeLessThanOrEqual(5);
  });
});

describe('platform: many accounts degrade at once (a shared cause: region, card network, DNS)', () => {
  // Six accounts, four of them degraded for an hour at rates whose sums pass the platform thresholds.
  const accounts = ['222222222222', '333333333333', '444444444444', '555555555555', '666666666666', '777777777777'];
  const degraded = accounts.slice(0, 4);
  const payments = HEALTHY.payments!;
  const perAccount: Traffic = {
    ...HEALTHY,
    errors: Math.max(DEGRADED.errors!, (2 * T.platformErrorsPerPeriod) / (T.periodMinutes * degraded.length)),
    slowShare: Math.min(
      1,
      Math.max(DEGRADED.slowShare!, (2 * T.platformSlowPerPeriod) / (T.periodMinutes * degraded.length * payments)),
    ),
  };
  const s = organization();
  for (const id of accounts) {
    s.add({ id, deployedAt: -WARMUP, traffic: degraded.includes(id) ? between(0, HOUR, perAccount) : () => HEALTHY });
  }
  s.run(2 * HOUR);

  test('the platform errors and slow-payments alarms reach ALARM', () => {
    expect(s.world.firstAlarm(s.names.hub.platformErrors, undefined, 0)).toBeDefined();
    expect(s.world.firstAlarm(s.names.hub.platformSlowPayments, undefined, 0)).toBeDefined();
  });

  test('one platform-critical ticket, plus one ticket per degraded account', () => {
    const tickets = s.world.ticketsSince(0).map((x) => `${x.accountId} ${x.alarmName}`);
    expect(tickets.sort()).toEqual(
      [
        `${templates.hubAccountId} ${s.names.hub.platformCritical}`,
        ...degraded.map((id) => `${id} ${s.names.member.degraded}`),
      ].sort(),
    );
  });
});

describe('a new organization: hub and member stacks are deployed at the same time', () => {
  // First deployment of the product: hub and three healthy accounts, deployed together at minute 0.
  test('opens no ticket', () => {
    const s = new Scenario(templates, { hubDeployedAt: 0 });
    for (const id of [A, B, '444444444444']) s.add({ id, deployedAt: 0, traffic: () => HEALTHY });
    s.run(3 * HOUR);
    expect(s.world.ticketsSince(0).map((x) => `${x.alarmName} at minute ${x.openedAt}`)).toEqual([]);
  });
});

describe('the hub in a quiet organization: no throttling anywhere, no alarm state changes for hours', () => {
  // Three healthy accounts, nothing throttled, nothing failing: the hub's own alarms must stay OK.
  const s = organization();
  for (const id of [A, B, '444444444444']) s.add({ id, deployedAt: -WARMUP, traffic: () => HEALTHY });
  s.run(3 * HOUR);

  test('the CloudTrail throttling alarms and the pipeline alarms are OK and do not change state', () => {
    const hubAlarms = [
      s.names.hub.apiThrottlingErrorCode,
      s.names.hub.apiThrottlingRateExceeded,
      s.names.hub.deadLetters,
      s.names.hub.handlerErrors,
      s.names.hub.backlog,
      s.names.hub.heartbeat,
    ];
    const summary = (name: string) => ({
      name,
      state: s.world.hub.stateOf(name),
      changes: s.world.changesOf(name, undefined, 0).length,
    });
    expect(hubAlarms.map(summary)).toEqual(hubAlarms.map((name) => ({ name, state: 'OK', changes: 0 })));
  });
});

describe('CloudTrail throttling reaches the hub about 5 minutes late', () => {
  // A trickle of throttled calls (below the threshold) all day, then a 15-minute burst; CloudTrail delivers to
  // the trail's log group ~5 minutes after each call.
  test('the errorCode alarm is OK with the trickle and reaches ALARM for the burst', () => {
    const s = organization();
    s.add({ id: A, deployedAt: -WARMUP, traffic: () => HEALTHY });
    const hub = s.world.hub;
    const alarm = hub.metricAlarm(s.names.hub.apiThrottlingErrorCode);
    // Every rule the alarm sums, and a code each rule matches: the trickle gives each rule data.
    const expression = [...alarm.queries.values()].map((q) => (q.kind === 'expression' ? q.expression : '')).join(' ');
    const rules = [...expression.matchAll(/INSIGHT_RULE_METRIC\('([^']+)'/g)].map(([, name]) =>
      hub.insightRules.find((r) => r.name === name)!,
    );
    expect(rules.length).toBeGreaterThan(0);
    const trailGroup = rules[0].logGroups.names?.[0];
    expect(trailGroup).toBeDefined();
    const codes = rules.map((r) => r.filters[0].In![0]);
    const rate = (m: number) => (m >= 0 && m < 15 ? (2 * alarm.threshold) / alarm.periodMinutes : 0.2 * codes.length);
    s.writer(
      hub,
      trailGroup!,
      (m) =>
        Array.from({ length: spread(rate(m), m) }, (_, i) => ({
          minute: m,
          json: {
            eventSource: 'dynamodb.amazonaws.com',
            eventName: 'PutItem',
            errorCode: codes[(((m + i) % codes.length) + codes.length) % codes.length],
            recipientAccountId: A,
          },
        })),
      DELAYS.cloudTrailDelivery,
    );
    s.run(0);
    const before = hub.stateOf(alarm.name);
    s.run(HOUR);
    expect(before).toBe('OK');
    const at = s.world.firstAlarm(alarm.name, undefined, 0);
    expect(at).toBeDefined();
    expect(at!).toBeLessThanOrEqual(15 + DELAYS.cloudTrailDelivery + 2 * alarm.periodMinutes);
  });
});
