import { ofType, render, synthesize } from '../support';

const { hubTemplate: template } = synthesize();
const alarms = ofType(template, 'AWS::CloudWatch::Alarm');
const byName = (name: string) => alarms.find(([, p]) => p.AlarmName === name)![1];

test('platform alarms are Metrics Insights sums over every linked account: no account named, so no OAM link needed', () => {
  for (const [name, metric] of [
    ['alarm-platform-errors-dev', 'ErrorCount'],
    ['alarm-platform-slow-payments-dev', 'SlowPaymentCount'],
  ]) {
    const alarm = byName(name);
    const metrics = alarm.Metrics as { Expression?: string; AccountId?: string; Period?: number }[];
    expect(metrics).toEqual([
      expect.objectContaining({ Expression: `SELECT SUM(${metric}) FROM "Observability/Payments"`, Period: 300 }),
    ]);
    expect(metrics.some((m) => m.AccountId)).toBe(false);
    expect(alarm).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 3, TreatMissingData: 'breaching' });
  }
});

test('the platform-critical composite is errors AND slow payments across the organization', () => {
  const [[, composite]] = ofType(template, 'AWS::CloudWatch::CompositeAlarm').filter(
    ([, p]) => p.AlarmName === 'composite-platform-critical-dev',
  );
  const rule = render(composite.AlarmRule);
  expect(rule).toMatch(/^\(ALARM\(".*PlatformAlarmsErrors.*"\) AND ALARM\(".*PlatformAlarmsSlowPayments.*"\)\)$/);
});

test("the hub's zero baseline writes into the same counts, so the queries have data before any member links", () => {
  const [[, schedule]] = ofType(template, 'AWS::Scheduler::Schedule').filter(
    ([, p]) => p.Name === 'schedule-metric-baseline-dev',
  );
  const input = JSON.parse((schedule.Target as { Input: string }).Input);
  expect(input.MetricData.map((m: { MetricName: string }) => m.MetricName)).toEqual(
    expect.arrayContaining(['ErrorCount', 'SlowPaymentCount']),
  );
});
