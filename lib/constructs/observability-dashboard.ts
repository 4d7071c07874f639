import { Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { accountMetric, APP_METRIC_FILTERS, APP_METRIC_NAMESPACE, APP_METRIC_PERIOD } from '../metrics';
import { Naming } from '../naming';
import { AccountAlarms, AccountAlarmSet, chunk } from './account-alarms';
import { InsightRuleAlarm } from './throttling-insights';

/** CloudWatch dashboard limits (per dashboard) and our own, much smaller, page size so pages load fast. */
export const DASHBOARD_LIMITS = {
  widgets: 500,
  metricsPerWidget: 500,
  metricsPerDashboard: 2500,
  alarmsPerStatusWidget: 100,
};
export const ACCOUNTS_PER_PAGE = 25;

const PERIOD_SECONDS = APP_METRIC_PERIOD.toSeconds();

/** The top contributors of a Contributor Insights rule (CDK has no widget class for it). */
export class ContributorInsightsWidget extends cloudwatch.ConcreteWidget {
  constructor(
    private readonly ruleName: string,
    private readonly title: string,
    private readonly region: string,
  ) {
    super(12, 6);
  }

  toJson(): unknown[] {
    return [
      {
        type: 'metric',
        width: this.width,
        height: this.height,
        x: this.x,
        y: this.y,
        properties: {
          title: this.title,
          region: this.region,
          insightRule: { maxContributorCount: 10, orderBy: 'Sum', ruleName: this.ruleName },
          legend: { position: 'bottom' },
          view: 'timeSeries',
          period: PERIOD_SECONDS,
        },
      },
    ];
  }
}

export interface ObservabilityDashboardProps {
  readonly naming: Naming;
  readonly alarms: AccountAlarms;
  readonly throttlingRules: InsightRuleAlarm[];
  /** Alarms of the hub's own components (e.g. the incident pipeline), shown in the status row. */
  readonly platformAlarms?: cloudwatch.IAlarm[];
}

/**
 * `dashboard-observability-<suffix>`: alarm status, an aggregate row across all accounts (SEARCH, so
 * it scales with the organization) and a row per account. Accounts beyond the first page go to
 * `dashboard-observability-accounts-<n>-<suffix>` pages so no dashboard nears CloudWatch's limits.
 */
export class ObservabilityDashboard extends Construct {
  readonly dashboards: cloudwatch.Dashboard[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityDashboardProps) {
    super(scope, id);
    const { naming, alarms } = props;
    const region = Stack.of(this).region;
    const pages = chunk(alarms.byAccount, ACCOUNTS_PER_PAGE);

    const main = new cloudwatch.Dashboard(this, 'Main', {
      dashboardName: naming.name('dashboard', 'observability'),
    });
    main.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Payments observability (${naming.suffix})\n${alarms.byAccount.length} member accounts in ${pages.length} page(s); region ${region}. Alarm state changes reach JIRA and email through the incident pipeline.`,
        width: 24,
        height: 2,
      }),
    );
    // Status row: the critical composites first, then the hub's own health.
    const statusAlarms = [
      alarms.platformCritical,
      ...alarms.byAccount.map((set) => set.degraded),
      ...(props.platformAlarms ?? []),
    ];
    main.addWidgets(...alarmStatusWidgets('Critical alarms', statusAlarms));
    main.addWidgets(...aggregateRow());
    main.addWidgets(...throttlingRow(props.throttlingRules, region));
    this.dashboards.push(main);

    pages.forEach((page, i) => {
      const dashboard =
        i === 0
          ? main
          : new cloudwatch.Dashboard(this, `Accounts${i + 1}`, {
              dashboardName: naming.name('dashboard', `observability-accounts-${i + 1}`),
            });
      const first = i * ACCOUNTS_PER_PAGE + 1;
      dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown: `## Accounts ${first}-${first + page.length - 1} of ${alarms.byAccount.length}`,
          width: 24,
          height: 1,
        }),
      );
      dashboard.addWidgets(
        ...alarmStatusWidgets(
          'Account alarms',
          page.flatMap((set) => [set.errors, set.latency, set.throttling]),
        ),
      );
      for (const set of page) dashboard.addWidgets(...accountRow(set));
      if (dashboard !== main) this.dashboards.push(dashboard);
    });
  }
}

function alarmStatusWidgets(title: string, alarms: cloudwatch.IAlarm[]): cloudwatch.IWidget[] {
  return chunk(alarms, DASHBOARD_LIMITS.alarmsPerStatusWidget).map(
    (group, i, all) =>
      new cloudwatch.AlarmStatusWidget({
        title: all.length > 1 ? `${title} (${i + 1}/${all.length})` : title,
        alarms: group,
        width: 24,
        height: Math.min(2 + Math.ceil(group.length / 4), 12),
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
      }),
  );
}

function search(
  expression: string,
  statistic: string,
  label: string,
  searchAccount?: string,
): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('${expression}', '${statistic}', ${PERIOD_SECONDS})`,
    usingMetrics: {},
    label,
    period: APP_METRIC_PERIOD,
    searchAccount,
  });
}

/** The sum over every series a SEARCH finds (all linked accounts). */
function total(searchExpression: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SUM(SEARCH('${searchExpression}', 'Sum', ${PERIOD_SECONDS}))`,
    usingMetrics: {},
    label,
    period: APP_METRIC_PERIOD,
  });
}

const appMetricSearch = (metricName: string) => `{${APP_METRIC_NAMESPACE}} MetricName="${metricName}"`;

/** Across all linked accounts: one SEARCH per graph, so its cost does not grow with the organization. */
function aggregateRow(): cloudwatch.IWidget[] {
  const graph = (title: string, left: cloudwatch.IMetric[]) =>
    new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
  return [
    graph('All accounts: errors', [
      total(appMetricSearch(APP_METRIC_FILTERS.errors.metricName), 'Errors, all accounts'),
    ]),
    graph('All accounts: payments', [
      total(appMetricSearch(APP_METRIC_FILTERS.payments.metricName), 'Payments, all accounts'),
    ]),
    graph('All accounts: p99 payment latency by account', [
      search(appMetricSearch(APP_METRIC_FILTERS.paymentLatency.metricName), 'p99', 'p99'),
    ]),
    graph('All accounts: throttled calls (app logs)', [
      total(appMetricSearch(APP_METRIC_FILTERS.throttledCalls.metricName), 'Throttled, all accounts'),
    ]),
    graph('All accounts: Lambda errors', [
      total('{AWS/Lambda,FunctionName} MetricName="Errors"', 'Lambda errors, all accounts'),
    ]),
    graph('All accounts: API Gateway 5XX', [
      total('{AWS/ApiGateway,ApiName} MetricName="5XXError"', 'API 5XX, all accounts'),
    ]),
  ];
}

function throttlingRow(rules: InsightRuleAlarm[], region: string): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'API throttling (Contributor Insights)',
      left: rules.map((rule) => rule.sum),
      width: 12,
      height: 6,
    }),
    ...rules.map((rule) => new ContributorInsightsWidget(rule.ruleName, `Top throttled: ${rule.ruleName}`, region)),
  ];
}

/** One row per account: few metrics per widget, each carrying the account id. */
function accountRow({ account }: AccountAlarmSet): cloudwatch.IWidget[] {
  const title = (what: string) => `${account.name} (${account.id}): ${what}`;
  const graph = (what: string, left: cloudwatch.IMetric[]) =>
    new cloudwatch.GraphWidget({ title: title(what), left, width: 4, height: 5 });
  return [
    graph('errors', [accountMetric(APP_METRIC_FILTERS.errors, account.id, 'Sum', 'Errors')]),
    graph('payment latency', [
      accountMetric(APP_METRIC_FILTERS.paymentLatency, account.id, 'p50', 'p50'),
      accountMetric(APP_METRIC_FILTERS.paymentLatency, account.id, 'p99', 'p99'),
    ]),
    graph('throughput', [accountMetric(APP_METRIC_FILTERS.payments, account.id, 'Sum', 'Payments')]),
    graph('throttled calls', [accountMetric(APP_METRIC_FILTERS.throttledCalls, account.id, 'Sum', 'Throttled')]),
    new cloudwatch.GraphWidget({
      title: title('Lambda and API errors'),
      left: [
        search('{AWS/Lambda,FunctionName} MetricName="Errors"', 'Sum', 'Lambda errors', account.id),
        search('{AWS/ApiGateway,ApiName} MetricName="5XXError"', 'Sum', 'API 5XX', account.id),
      ],
      width: 8,
      height: 5,
    }),
  ];
}
