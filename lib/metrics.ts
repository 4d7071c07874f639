import { Duration } from 'aws-cdk-lib';
import { Metric, Unit } from 'aws-cdk-lib/aws-cloudwatch';

/**
 * The application metrics that member accounts publish (from log metric filters) and alarm on, and that
 * the hub shows. One definition, so the two sides of the StackSet boundary cannot drift apart.
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
  /**
   * Published for log events that were ingested and did not match. Counts use 0 so a period with traffic
   * but no match reads as zero; values (latency) have none, since a default would put zeros into the
   * distribution and falsify p50/p99 (CloudWatch Logs user guide, "Creating metric filters": default value).
   */
  readonly defaultValue?: number;
}

/**
 * The `errorCode` values AWS APIs return when they throttle a caller: the throttling codes the AWS SDKs retry
 * (smithy `service-error-classification`, THROTTLING_ERROR_CODES), and `Client.RequestLimitExceeded`, the form in
 * which CloudTrail records EC2's `RequestLimitExceeded`.
 */
export const THROTTLING_ERROR_CODES = [
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'RequestLimitExceeded',
  'Client.RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
];

const anyThrottlingErrorCode = THROTTLING_ERROR_CODES.map((code) => `($.errorCode = "${code}")`).join(' || ');

/** Applications log one JSON object per line with `level`, `event`, `latencyMs` and, for AWS errors, `errorCode`. */
export const APP_METRIC_FILTERS = {
  errors: {
    metricName: 'ErrorCount',
    filterPattern: '{ $.level = "ERROR" }',
    metricValue: '1',
    unit: Unit.COUNT,
    defaultValue: 0,
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
    defaultValue: 0,
  },
  throttledCalls: {
    metricName: 'ThrottledCalls',
    filterPattern: `{ ${anyThrottlingErrorCode} }`,
    metricValue: '1',
    unit: Unit.COUNT,
    defaultValue: 0,
  },
} as const satisfies Record<string, AppMetricFilter>;

/** How often application metrics are evaluated: alarms and dashboard graphs. */
export const APP_METRIC_PERIOD = Duration.minutes(5);

/** What member accounts share with the hub through their OAM links; the hub sink admits exactly these. */
export const SHARED_TELEMETRY_TYPES = ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace'];

/**
 * Payments at or above the account's latency threshold (a parameter of the member template). With the payment
 * count it gives the share of slow payments: more than 1% slow is exactly "p99 at or above the threshold"
 * (nearest-rank p99), and unlike the percentile it is defined in a period without payments.
 */
export const SLOW_PAYMENT_FILTER = {
  metricName: 'SlowPaymentCount',
  filterPattern: (thresholdMs: string) => `{ ($.event = "payment_processed") && ($.latencyMs >= ${thresholdMs}) }`,
  metricValue: '1',
  unit: Unit.COUNT,
  defaultValue: 0,
};

/** The count metrics that get a 0 every minute from the member's zero baseline schedule. */
export const ZERO_BASELINE_METRICS = [
  APP_METRIC_FILTERS.errors.metricName,
  APP_METRIC_FILTERS.payments.metricName,
  APP_METRIC_FILTERS.throttledCalls.metricName,
  SLOW_PAYMENT_FILTER.metricName,
];

/**
 * Errors and latency: 2 of the last 3 five-minute periods. The third period tolerates late data: a log agent that
 * delivers minutes late puts its events into older periods, and the newest one then reads as 0 (found by the
 * alarm model: 2 of 2 never pages on 5-minute-late logs). Windows slide every minute ("Using Amazon CloudWatch
 * alarms"), so a short intense burst is seen twice, in the newest two windows and, after a gap, in the older
 * two; the handler's resolve grace period (RESOLVE_GRACE_SECONDS) keeps that one ticket.
 */
export const ALARM_EVALUATION = { evaluationPeriods: 3, datapointsToAlarm: 2 } as const;

/**
 * Metrics Insights platform alarms: 3 of 3. A query alarm has no FILL; right after creation only the newest
 * period has data, and with 2 of 3 the two missing (breaching) periods would raise it at once ("- - 0" is
 * ALARM for 2 of 3 with breaching, "Using Amazon CloudWatch alarms", missing data table).
 */
export const PLATFORM_EVALUATION = { evaluationPeriods: 3, datapointsToAlarm: 3 } as const;

/**
 * A series that is 0 every minute (hub zero baseline): anchors metric math over metrics that only have data
 * sometimes (Contributor Insights rule metrics, Lambda Errors), so `SUM([x, baseline])` has a value in every
 * period and reads as x, or 0 when x has none.
 */
export const BASELINE_METRIC = 'Baseline';

/** The hub's baseline series, as alarms read it. */
export function baselineMetric(): Metric {
  return new Metric({
    namespace: APP_METRIC_NAMESPACE,
    metricName: BASELINE_METRIC,
    statistic: 'Sum',
    period: APP_METRIC_PERIOD,
  });
}
