import { windowEndExpression } from '../../../lib/hub/maintenance-windows';
import { FULL_FEATURES, ofType, render, synthesize } from '../support';

const { hubTemplate: template } = synthesize(FULL_FEATURES);
const schedules = Object.fromEntries(ofType(template, 'AWS::Scheduler::Schedule').map(([, p]) => [p.Name, p]));

describe('alert-path heartbeat', () => {
  test('a schedule puts a synthetic alarm state change on the hub bus every 6 hours (default), starting at once', () => {
    const schedule = schedules['schedule-heartbeat-dev'];
    expect(schedule.ScheduleExpression).toBe('rate(360 minutes)');
    expect(schedule.StartDate).toBeUndefined();
    const target = schedule.Target as { Arn: unknown; EventBridgeParameters: unknown; Input: string };
    expect(render(target.Arn)).toContain('AuditTrailBus');
    expect(target.EventBridgeParameters).toEqual({
      Source: 'observability.hub',
      DetailType: 'CloudWatch Alarm State Change',
    });
    expect(JSON.parse(target.Input)).toMatchObject({
      alarmName: 'heartbeat-alert-path-dev',
      heartbeat: true,
      state: { value: 'ALARM', timestamp: '<aws.scheduler.scheduled-time>' },
    });
  });

  test('an alarm fires when two intervals pass without a successful heartbeat (missing is the failure)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'alarm-alert-path-heartbeat-dev',
      Namespace: 'Observability/Pipeline',
      MetricName: 'HeartbeatSucceeded',
      Period: 21600,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  test('the heartbeat is not a ticket alarm, and heartbeat: { enabled: false } removes it', () => {
    const { hubTemplate } = synthesize({ heartbeat: { enabled: false } });
    expect(ofType(hubTemplate, 'AWS::Scheduler::Schedule').map(([, p]) => p.Name)).not.toContain(
      'schedule-heartbeat-dev',
    );
    const [, fn] = ofType(template, 'AWS::Lambda::Function').find(
      ([, p]) => p.FunctionName === 'lambda-jira-incident-dev',
    )!;
    const pattern = (fn.Environment as { Variables: Record<string, string> }).Variables.JIRA_TICKET_ALARM_PATTERN;
    expect(new RegExp(pattern).test('heartbeat-alert-path-dev')).toBe(false);
  });
});

describe('maintenance windows', () => {
  test('each window announces its end on the hub bus (one-off: at(); weekly: cron at start + duration, UTC)', () => {
    expect(schedules['schedule-maintenance-card-network-upgrade-dev'].ScheduleExpression).toBe(
      'at(2026-12-25T02:00:00)',
    );
    expect(schedules['schedule-maintenance-weekly-patching-dev'].ScheduleExpression).toBe('cron(0 1 ? * MON *)');
    for (const name of ['schedule-maintenance-card-network-upgrade-dev', 'schedule-maintenance-weekly-patching-dev']) {
      const target = schedules[name].Target as { EventBridgeParameters: unknown; Input: string };
      expect(target.EventBridgeParameters).toEqual({
        Source: 'observability.hub',
        DetailType: 'Maintenance Window Ended',
      });
      expect(JSON.parse(target.Input).window).toMatch(/card-network-upgrade|weekly-patching/);
    }
  });

  test('the handler knows the windows (it mutes ticketing while one is open)', () => {
    const [, fn] = ofType(template, 'AWS::Lambda::Function').find(
      ([, p]) => p.FunctionName === 'lambda-jira-incident-dev',
    )!;
    const windows = JSON.parse((fn.Environment as { Variables: Record<string, string> }).Variables.MAINTENANCE_WINDOWS);
    expect(windows).toEqual(FULL_FEATURES.maintenanceWindows!.map((w) => expect.objectContaining({ name: w.name })));
  });

  test.each([
    [{ days: ['SUN' as const], startTime: '23:00', durationMinutes: 120 }, 'cron(0 1 ? * MON *)'],
    [{ days: ['SAT' as const, 'SUN' as const], startTime: '22:30', durationMinutes: 90 }, 'cron(0 0 ? * SUN,MON *)'],
    [{ days: ['WED' as const], startTime: '02:00', durationMinutes: 45 }, 'cron(45 2 ? * WED *)'],
  ])('weekly window %p ends at %s', (weekly, expected) => {
    expect(windowEndExpression({ name: 'w', weekly })).toBe(expected);
  });

  test('no windows, no schedules', () => {
    const { hubTemplate } = synthesize();
    expect(ofType(hubTemplate, 'AWS::Scheduler::Schedule').map(([, p]) => p.Name)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^schedule-maintenance-/)]),
    );
  });
});
