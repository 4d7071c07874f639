import { NestedStack, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { accountThresholds, MemberAccount, ObservabilityConfig } from '../config';
import { InsightRuleAlarm } from '../insight-rule-alarm';
import { APP_METRIC_FILTERS, APP_METRIC_NAMESPACE, APP_METRIC_PERIOD, SLOW_PAYMENT_FILTER } from '../metrics';
import { Naming } from '../naming';

/**
 * CloudWatch limits: 500 metrics per widget, 2,500 per dashboard, 100 alarms per alarm status widget, 500 time
 * series per Metrics Insights query (CloudWatch quotas). Our own bounds are far smaller so every page loads fast
 * and its cost does not grow with the organization.
 */
export const DASHBOARD_LIMITS = {
  metricsPerWidget: 500,
  metricsPerDashboard: 2500,
  alarmsPerStatusWidget: 100,
  seriesPerInsightsQuery: 500,
};
/** Accounts on one per-account page: 5 widgets and 7 metrics each, so at most 125 widgets and 175 metrics. */
export const ACCOUNTS_PER_PAGE = 25;
/** Per-account pages per nested stack: keeps each template far below CloudFormation's 1 MB. */
export const PAGES_PER_STACK = 10;
/** Top-N graphs of the main page: a Metrics Insights `LIMIT`, so the page fetches the same at 3 or 1,000 accounts. */
export const TOP_ACCOUNTS = 10;

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

/** A Metrics Insights query: computed by CloudWatch over every linked account, however many there are. */
export function insightsQuery(query: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({ expression: query, usingMetrics: {}, label, period: APP_METRIC_PERIOD });
}

const FROM_APP = `FROM "${APP_METRIC_NAMESPACE}"`;
const topAccounts = (fn: 'SUM' | 'MAX', metricName: string) =>
  `SELECT ${fn}(${metricName}) ${FROM_APP} GROUP BY AWS.AccountId ORDER BY ${fn}() DESC LIMIT ${TOP_ACCOUNTS}`;

export interface ObservabilityDashboardProps {
  readonly naming: Naming;
  readonly config: ObservabilityConfig;
  /** Alarms of the hub (platform, throttling, pipeline), shown in the status row. */
  readonly hubAlarms: cloudwatch.IAlarm[];
  readonly throttlingRules: InsightRuleAlarm[];
  /** Every alarm state change of the organization: the source of the member alarm view. */
  readonly auditLogGroup: logs.ILogGroup;
  /** The incident handler's log group (handler latency and outcomes). */
  readonly handlerLogGroup: logs.ILogGroup;
  readonly handlerFunctionName: string;
}

/**
 * `dashboard-observability-<suffix>`: hub alarm status, the member alarms that fired (from the audit trail, so
 * every account, configured or not), organization aggregates and top accounts (Metrics Insights), API throttling
 * and the incident pipeline. Its widgets and fetched metrics do not grow with the organization. Configured
 * accounts also get rows on `dashboard-observability-accounts-<n>-<suffix>` pages of 25.
 */
export class ObservabilityDashboard extends Construct {
  readonly main: cloudwatch.Dashboard;
  readonly accountPages: string[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityDashboardProps) {
    super(scope, id);
    const { naming, config } = props;
    const region = Stack.of(this).region;
    const pages = chunk(config.memberAccounts, ACCOUNTS_PER_PAGE);
    pages.forEach((_, i) => this.accountPages.push(naming.name('dashboard', `observability-accounts-${i + 1}`)));

    this.main = new cloudwatch.Dashboard(this, 'Main', { dashboardName: naming.name('dashboard', 'observability') });
    this.main.addWidgets(
      new cloudwatch.TextWidget({
        markdown: [
          `# Payments observability (${naming.suffix})`,
          `Every account linked to the hub sink, in ${region}. ${config.memberAccounts.length} configured accounts have rows on: ${this.accountPages.join(', ')}.`,
          'Alarm state changes reach JIRA and email through the incident pipeline; the audit trail records all of them.',
        ].join('\n\n'),
        width: 24,
        height: 3,
      }),
    );
    this.main.addWidgets(...alarmStatusWidgets('Hub alarms (platform, throttling, pipeline)', props.hubAlarms));
    this.main.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: 'Member alarms that went to ALARM (audit trail, every account)',
        logGroupNames: [props.auditLogGroup.logGroupName],
        region,
        queryLines: [
          'fields @timestamp, account, detail.alarmName, detail.state.value',
          'filter detail.state.value = "ALARM"',
          'stats count(*) as transitions, latest(@timestamp) as lastAlarm by account, detail.alarmName',
          'sort lastAlarm desc',
          'limit 50',
        ],
        width: 24,
        height: 6,
      }),
    );
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6, period: APP_METRIC_PERIOD });
    const sum = (metricName: string) => `SELECT SUM(${metricName}) ${FROM_APP}`;
    this.main.addWidgets(
      graph('All accounts: errors', [insightsQuery(sum(APP_METRIC_FILTERS.errors.metricName), 'Errors')]),
      graph('All accounts: payments', [insightsQuery(sum(APP_METRIC_FILTERS.payments.metricName), 'Payments')]),
      graph('All accounts: slow payments', [
        insightsQuery(sum(SLOW_PAYMENT_FILTER.metricName), 'Payments at or above the account latency threshold'),
      ]),
      graph(`Top ${TOP_ACCOUNTS} accounts: errors`, [
        insightsQuery(topAccounts('SUM', APP_METRIC_FILTERS.errors.metricName), 'Errors'),
      ]),
      graph(`Top ${TOP_ACCOUNTS} accounts: slowest payment (ms)`, [
        insightsQuery(topAccounts('MAX', APP_METRIC_FILTERS.paymentLatency.metricName), 'Max latency'),
      ]),
      graph(`Top ${TOP_ACCOUNTS} accounts: throttled calls (app logs)`, [
        insightsQuery(topAccounts('SUM', APP_METRIC_FILTERS.throttledCalls.metricName), 'Throttled'),
      ]),
      graph('All accounts: Lambda errors', [
        insightsQuery('SELECT SUM(Errors) FROM SCHEMA("AWS/Lambda", FunctionName)', 'Lambda errors'),
      ]),
      graph('All accounts: API Gateway 5XX', [
        insightsQuery('SELECT SUM("5XXError") FROM SCHEMA("AWS/ApiGateway", ApiName)', 'API 5XX'),
      ]),
      graph(
        'Incident handler duration (ms)',
        ['p50', 'p99'].map(
          (statistic) =>
            new cloudwatch.Metric({
              namespace: 'AWS/Lambda',
              metricName: 'Duration',
              dimensionsMap: { FunctionName: props.handlerFunctionName },
              statistic,
              label: statistic,
              period: APP_METRIC_PERIOD,
            }),
        ),
      ),
    );
    this.main.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API throttling across the organization (CloudTrail, Contributor Insights)',
        left: props.throttlingRules.map((rule) => rule.sum),
        width: 12,
        height: 6,
      }),
      ...props.throttlingRules.map(
        (rule) => new ContributorInsightsWidget(rule.ruleNames[0], `Top throttled: ${rule.ruleNames[0]}`, region),
      ),
      new cloudwatch.LogQueryWidget({
        title: 'Incident handler: outcomes and time per state change (traces in X-Ray)',
        logGroupNames: [props.handlerLogGroup.logGroupName],
        region,
        queryLines: [
          'filter message = "Alarm state change handled"',
          'stats count(*) as changes, avg(durationMs) as avgMs, pct(durationMs, 99) as p99Ms by outcome',
        ],
        width: 12,
        height: 6,
      }),
    );

    // Per-account pages, in nested stacks of PAGES_PER_STACK so no template nears CloudFormation's limits.
    chunk(pages, PAGES_PER_STACK).forEach((stackPages, s) => {
      const stack = new NestedStack(this, `AccountPages${s + 1}`, {
        description: `Observability hub per-account dashboards, pages ${s * PAGES_PER_STACK + 1}-${s * PAGES_PER_STACK + stackPages.length} (${naming.suffix})`,
      });
      stackPages.forEach((page, p) => {
        const index = s * PAGES_PER_STACK + p;
        const dashboard = new cloudwatch.Dashboard(stack, `Accounts${index + 1}`, {
          dashboardName: this.accountPages[index],
        });
        const first = index * ACCOUNTS_PER_PAGE + 1;
        dashboard.addWidgets(
          new cloudwatch.TextWidget({
            markdown: `## Accounts ${first}-${first + page.length - 1} of ${config.memberAccounts.length} (${naming.suffix})\nAlarms of these accounts live in the accounts themselves; their state changes are on ${naming.name('dashboard', 'observability')}.`,
            width: 24,
            height: 2,
          }),
        );
        for (const account of page) dashboard.addWidgets(...accountRow(config, account));
      });
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

/** An application metric of one member account, as the hub reads it through the sink (`accountId`). */
export function accountMetric(metricName: string, accountId: string, statistic: string, label: string) {
  return new cloudwatch.Metric({
    namespace: APP_METRIC_NAMESPACE,
    metricName,
    account: accountId,
    statistic,
    period: APP_METRIC_PERIOD,
    label,
  });
}

/** One row per configured account: few metrics per widget, each carrying the account id, thresholds drawn in. */
function accountRow(config: ObservabilityConfig, account: MemberAccount): cloudwatch.IWidget[] {
  const thresholds = accountThresholds(config, account);
  const title = (what: string) => `${account.name} (${account.id}): ${what}`;
  const graph = (what: string, left: cloudwatch.IMetric[], threshold?: number) =>
    new cloudwatch.GraphWidget({
      title: title(what),
      left,
      width: 4,
      height: 5,
      leftAnnotations: threshold === undefined ? undefined : [{ value: threshold, label: 'alarm threshold' }],
    });
  const inAccount = (schema: string, metric: string, label: string) =>
    insightsQuery(`SELECT SUM(${metric}) FROM SCHEMA(${schema}) WHERE AWS.AccountId = '${account.id}'`, label);
  return [
    graph(
      'errors',
      [accountMetric(APP_METRIC_FILTERS.errors.metricName, account.id, 'Sum', 'Errors')],
      thresholds.errorCount,
    ),
    graph(
      'payment latency (ms)',
      [
        accountMetric(APP_METRIC_FILTERS.paymentLatency.metricName, account.id, 'p50', 'p50'),
        accountMetric(APP_METRIC_FILTERS.paymentLatency.metricName, account.id, 'p99', 'p99'),
      ],
      thresholds.latencyP99Ms,
    ),
    graph('throughput', [accountMetric(APP_METRIC_FILTERS.payments.metricName, account.id, 'Sum', 'Payments')]),
    graph(
      'throttled calls',
      [accountMetric(APP_METRIC_FILTERS.throttledCalls.metricName, account.id, 'Sum', 'Throttled')],
      thresholds.throttledCalls,
    ),
    new cloudwatch.GraphWidget({
      title: title('Lambda and API errors'),
      left: [
        inAccount('"AWS/Lambda", FunctionName', 'Errors', 'Lambda errors'),
        inAccount('"AWS/ApiGateway", ApiName', '"5XXError"', 'API 5XX'),
      ],
      width: 8,
      height: 5,
    }),
  ];
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
