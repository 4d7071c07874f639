import { Duration } from 'aws-cdk-lib';
import { Metric, Unit } from 'aws-cdk-lib/aws-cloudwatch';

/**
 * The application metrics that member accounts publish (from log metric filters) and the hub reads
 * (dashboard, alarms). One definition, so the two sides of the StackSet boundary cannot drift apart.
 */
export const APP_METRIC_NAMESPACE = 'Observability/Payments';

export interface AppMetricFilter {
  /** Construct id and metric name. */
  readonly metricName: string;
  /** A JSON equality pattern: exact match only, no wildcards or partial terms. */
  readonly filterPattern: string;
  /** `1` for counts, or a `$.field` selector for values such as latency. */
  readonly metricValue: string;
  readonly unit: Unit;
}

/** The `errorCode` values AWS APIs return when they throttle a caller. */
export const THROTTLING_ERROR_CODES = [
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'RequestThrottled',
  'SlowDown',
];

const anyThrottlingErrorCode = THROTTLING_ERROR_CODES.map((code) => `($.errorCode = "${code}")`).join(' || ');

/** Applications log one JSON object per line with `level`, `event`, `latencyMs` and, for AWS errors, `errorCode`. */
export const APP_METRIC_FILTERS = {
  errors: {
    metricName: 'ErrorCount',
    filterPattern: '{ $.level = "ERROR" }',
    metricValue: '1',
    unit: Unit.COUNT,
  },
  paymentLatency: {
    metricName: 'PaymentLatency',
    filterPattern: '{ $.event = "payment_processed" }',
    metricValue: '$.latencyMs',
    unit: Unit.MILLISECONDS,
  },
  payments: {
    metricName: 'PaymentCount',
    filterPattern: '{ $.event = "payment_processed" }',
    metricValue: '1',
    unit: Unit.COUNT,
  },
  throttledCalls: {
    metricName: 'ThrottledCalls',
    filterPattern: `{ ${anyThrottlingErrorCode} }`,
    metricValue: '1',
    unit: Unit.COUNT,
  },
} as const satisfies Record<string, AppMetricFilter>;

/** How often the hub looks at application metrics: alarms and dashboard graphs. */
export const APP_METRIC_PERIOD = Duration.minutes(5);

/** An application metric of one member account, as the hub reads it (cross-account: renders `AccountId`). */
export function accountMetric(filter: AppMetricFilter, accountId: string, statistic: string, label?: string): Metric {
  return new Metric({
    namespace: APP_METRIC_NAMESPACE,
    metricName: filter.metricName,
    account: accountId,
    statistic,
    period: APP_METRIC_PERIOD,
    unit: filter.unit,
    label,
  });
}
