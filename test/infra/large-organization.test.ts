import { ACCOUNTS_PER_ALARM_STACK, MAX_COMPOSITE_CHILDREN } from '../../lib/constructs/account-alarms';
import { ACCOUNTS_PER_PAGE, DASHBOARD_LIMITS } from '../../lib/constructs/observability-dashboard';
import { EXAMPLE_CONFIG } from '../../lib/config';
import { ofType, render, synthesize } from './support';

/** 240 member accounts: enough to need several dashboard pages and grouped composites. */
const ACCOUNTS = 240;
const memberAccounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
  id: String(100000000000 + i),
  name: `payments-${i}`,
  organizationalUnitId: 'ou-ab12-paym0001',
}));
const { hubTemplate, hubWithNested, nestedTemplates } = synthesize({ memberAccounts });
const dashboards = ofType(hubTemplate, 'AWS::CloudWatch::Dashboard').map(([, p]) => ({
  name: p.DashboardName as string,
  body: JSON.parse(render(p.DashboardBody)) as {
    widgets: { type: string; properties: { metrics?: unknown[][]; alarms?: unknown[] } }[];
  },
}));

test('accounts are split into pages instead of failing', () => {
  expect(dashboards).toHaveLength(Math.ceil(ACCOUNTS / ACCOUNTS_PER_PAGE));
  expect(dashboards[0].name).toBe('dashboard-observability-dev');
  expect(dashboards.slice(1).map((d) => d.name)).toEqual(
    Array.from({ length: dashboards.length - 1 }, (_, i) => `dashboard-observability-accounts-${i + 2}-dev`),
  );
});

test('every account appears on exactly one page, with its account id', () => {
  const seen = new Map<string, number>();
  for (const { body } of dashboards) {
    const onPage = new Set<string>();
    for (const widget of body.widgets) {
      for (const metric of widget.properties.metrics ?? []) {
        const options = metric[metric.length - 1] as { accountId?: string };
        if (options?.accountId) onPage.add(options.accountId);
      }
    }
    for (const id of onPage) seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  expect(seen.size).toBe(ACCOUNTS);
  expect([...seen.values()].every((count) => count === 1)).toBe(true);
});

test('every dashboard stays inside CloudWatch limits: widgets, metrics per widget and per dashboard, alarms per widget', () => {
  for (const { name, body } of dashboards) {
    expect([name, body.widgets.length <= DASHBOARD_LIMITS.widgets]).toEqual([name, true]);
    let metrics = 0;
    for (const widget of body.widgets) {
      const count = widget.properties.metrics?.length ?? 0;
      expect(count).toBeLessThanOrEqual(DASHBOARD_LIMITS.metricsPerWidget);
      expect(widget.properties.alarms?.length ?? 0).toBeLessThanOrEqual(DASHBOARD_LIMITS.alarmsPerStatusWidget);
      metrics += count;
    }
    expect([name, metrics <= DASHBOARD_LIMITS.metricsPerDashboard]).toEqual([name, true]);
  }
});

test('graphs stay light: no widget of an account row has more than 2 metrics', () => {
  for (const { body } of dashboards) {
    for (const widget of body.widgets.filter((w) => w.type === 'metric')) {
      expect(widget.properties.metrics?.length ?? 0).toBeLessThanOrEqual(2);
    }
  }
});

test('the platform composite groups accounts so every composite rule stays under 10,240 characters', () => {
  const composites = ofType(hubWithNested, 'AWS::CloudWatch::CompositeAlarm');
  const groups = composites.filter(([, p]) => String(p.AlarmName).startsWith('composite-platform-group-'));
  expect(groups).toHaveLength(Math.ceil(ACCOUNTS / MAX_COMPOSITE_CHILDREN));
  for (const [, p] of composites) {
    // Rendered with the real alarm ARNs' length in mind: an ARN is at most ~60 characters + the name.
    const rule = render(p.AlarmRule).replace(
      /\$\{[A-Za-z0-9]+\.Arn\}/g,
      'arn:aws:cloudwatch:us-east-1:111111111111:alarm:' + 'x'.repeat(60),
    );
    expect(rule.length).toBeLessThanOrEqual(10240);
  }
});

test('alarms are sharded into nested stacks, each far below 500 resources', () => {
  expect(nestedTemplates).toHaveLength(Math.ceil(ACCOUNTS / ACCOUNTS_PER_ALARM_STACK));
  for (const t of [hubTemplate, ...nestedTemplates]) {
    expect(Object.keys(t.toJSON().Resources).length).toBeLessThanOrEqual(300);
  }
  expect(
    ofType(hubWithNested, 'AWS::CloudWatch::Alarm').filter(([, p]) => String(p.AlarmName).startsWith('alarm-errors-')),
  ).toHaveLength(ACCOUNTS);
});

test('the example config (3 accounts) needs a single dashboard', () => {
  expect(EXAMPLE_CONFIG.memberAccounts.length).toBeLessThanOrEqual(ACCOUNTS_PER_PAGE);
});
