import { RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeLogGroupWithoutCmk } from '../compliance';
import { APP_METRIC_FILTERS, APP_METRIC_NAMESPACE, SLOW_PAYMENT_FILTER } from '../metrics';
import { Naming } from '../naming';

export interface ApplicationLogMetricsProps {
  readonly naming: Naming;
  /** Applications whose log groups are created, e.g. ['payments-api']. */
  readonly applications: string[];
  readonly retention: logs.RetentionDays;
  /** The account's latency threshold in ms (a template parameter): payments at or above it count as slow. */
  readonly latencyThresholdMs: string;
}

/**
 * The applications' log groups (30 days) and the exact-match metric filters that turn their JSON log lines
 * into the `Observability/Payments` metrics. Counts default to 0 for ingested, non-matching events; the
 * latency value has no default (a default would falsify its percentiles).
 */
export class ApplicationLogMetrics extends Construct {
  readonly logGroups: logs.LogGroup[];

  constructor(scope: Construct, id: string, props: ApplicationLogMetricsProps) {
    super(scope, id);
    const { naming } = props;
    this.logGroups = props.applications.map((app) => {
      const logGroup = new logs.LogGroup(this, `AppLogGroup-${app}`, {
        logGroupName: naming.logGroupName('observability/app', app),
        retention: props.retention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      acknowledgeLogGroupWithoutCmk(logGroup);
      for (const [purpose, filter] of Object.entries(APP_METRIC_FILTERS)) {
        new logs.MetricFilter(this, `${app}-${filter.metricName}`, {
          logGroup,
          filterName: naming.name('metric', `${app}-${purpose.toLowerCase()}`),
          filterPattern: logs.FilterPattern.literal(filter.filterPattern),
          metricNamespace: APP_METRIC_NAMESPACE,
          metricName: filter.metricName,
          metricValue: filter.metricValue,
          unit: filter.unit,
          defaultValue: 'defaultValue' in filter ? filter.defaultValue : undefined,
        });
      }
      new logs.MetricFilter(this, `${app}-${SLOW_PAYMENT_FILTER.metricName}`, {
        logGroup,
        filterName: naming.name('metric', `${app}-slowpayments`),
        filterPattern: logs.FilterPattern.literal(SLOW_PAYMENT_FILTER.filterPattern(props.latencyThresholdMs)),
        metricNamespace: APP_METRIC_NAMESPACE,
        metricName: SLOW_PAYMENT_FILTER.metricName,
        metricValue: SLOW_PAYMENT_FILTER.metricValue,
        unit: SLOW_PAYMENT_FILTER.unit,
        defaultValue: SLOW_PAYMENT_FILTER.defaultValue,
      });
      return logGroup;
    });
  }
}
