import {
  ACCOUNTS_PER_PAGE,
  DASHBOARD_LIMITS,
  PAGES_PER_STACK,
  TOP_ACCOUNTS,
} from '../../../lib/hub/observability-dashboard';
import { dashboards, fetchedMetrics, generatedAccounts, synthesize } from '../support';

/** The customer's "under 2 seconds": the main page's cost must not grow with the organization. */
const MAIN_PAGE_BOUNDS = { widgets: 40, fetchedMetrics: 250 };

describe.each([3, 1000])('%i member accounts', (count) => {
  const { hubTemplate, nestedTemplates } = synthesize(count === 3 ? {} : { memberAccounts: generatedAccounts(count) });
  const [main] = dashboards(hubTemplate);
  const pages = nestedTemplates.flatMap(dashboards);

  test('the main page has at most 40 widgets and 250 fetched metrics, whatever the size', () => {
    expect(main.name).toBe('dashboard-observability-dev');
    expect(dashboards(hubTemplate)).toHaveLength(1);
    expect(main.widgets.length).toBeLessThanOrEqual(MAIN_PAGE_BOUNDS.widgets);
    expect(main.widgets.reduce((n, w) => n + fetchedMetrics(w), 0)).toBeLessThanOrEqual(
      MAIN_PAGE_BOUNDS.fetchedMetrics,
    );
  });

  test('aggregates are computed by the query (Metrics Insights), never by fetching every account (SEARCH)', () => {
    const expressions = main.widgets.flatMap((w) =>
      (w.properties.metrics ?? []).map((m) => (m[m.length - 1] as { expression?: string }).expression ?? ''),
    );
    expect(expressions.join('\n')).not.toMatch(/SEARCH\(/);
    expect(expressions).toContain('SELECT SUM(ErrorCount) FROM "Observability/Payments"');
    expect(expressions.filter((e) => e.includes('GROUP BY AWS.AccountId'))).toEqual(
      expect.arrayContaining([expect.stringContaining(`LIMIT ${TOP_ACCOUNTS}`)]),
    );
  });

  test('every configured account has a row, on pages of at most 25 accounts, 125 widgets and 250 metrics', () => {
    expect(pages).toHaveLength(Math.ceil(count / ACCOUNTS_PER_PAGE));
    expect(nestedTemplates).toHaveLength(Math.ceil(count / ACCOUNTS_PER_PAGE / PAGES_PER_STACK));
    pages.forEach((page, i) => {
      expect(page.name).toBe(`dashboard-observability-accounts-${i + 1}-dev`);
      expect(page.widgets.length).toBeLessThanOrEqual(1 + ACCOUNTS_PER_PAGE * 5);
      const fetched = page.widgets.reduce((n, w) => n + fetchedMetrics(w), 0);
      expect(fetched).toBeLessThanOrEqual(250);
      for (const widget of page.widgets) {
        expect(fetchedMetrics(widget)).toBeLessThanOrEqual(DASHBOARD_LIMITS.metricsPerWidget);
        expect((widget.properties.alarms ?? []).length).toBeLessThanOrEqual(DASHBOARD_LIMITS.alarmsPerStatusWidget);
      }
    });
    const titles = pages.flatMap((p) => p.widgets.map((w) => JSON.stringify(w)));
    expect(titles.filter((t) => t.includes(': errors"')).length).toBe(count);
  });
});

test('the main page shows hub alarms, member alarms from the audit trail, throttling and the incident handler', () => {
  const { hubTemplate } = synthesize();
  const [main] = dashboards(hubTemplate);
  const text = JSON.stringify(main.widgets);
  expect(main.widgets.filter((w) => w.type === 'alarm').length).toBeGreaterThanOrEqual(1);
  expect(text).toMatch(/SOURCE '\$\{AuditTrailLogGroup[0-9A-F]+\}'/);
  expect(text).toContain('insight-api-throttling-errorcode-dev');
  expect(text).toMatch(/SOURCE '\$\{IncidentPipelineHandlerLogs[0-9A-F]+\}'/);
  expect(text).toContain('"FunctionName","lambda-jira-incident-dev"');
});
