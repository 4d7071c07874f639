/** Typed errors: callers branch on the class, operators read the message. */

/** An environment variable is missing or invalid. The message names the variable and the fix. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** An event that claims to be an alarm state change is missing a field or has a wrong type. */
export class InvalidEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

/** The JIRA secret could not be read or lacks a field. Never carries the token. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

/**
 * JIRA answered with an error status, or could not be reached (`status` 0).
 * The message carries JIRA's errorMessages/errors text, never request headers.
 */
export class JiraApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** False when the request may have been processed (timeout, reset, 5xx): the issue may exist. */
    readonly definitelyNotApplied = false,
  ) {
    super(message);
    this.name = 'JiraApiError';
  }
}

/**
 * JIRA rate-limits the pipeline (a 429, or the pipeline-wide cool-down another invocation recorded) for longer
 * than this invocation can wait. Nothing was sent, or JIRA refused it: the change is safe to try again after
 * `untilMs`. Queue records failing with it are deferred to then, not emailed as failures.
 */
export class JiraRateLimitedError extends JiraApiError {
  constructor(
    message: string,
    /** Epoch ms when JIRA accepts requests again (Retry-After). */
    readonly untilMs: number,
  ) {
    super(429, message, true);
    this.name = 'JiraRateLimitedError';
  }
}

/** Another invocation holds the claim on this alarm's incident and did not finish in time. */
export class IncidentBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncidentBusyError';
  }
}

/** One or more records of an SNS batch failed; the successful ones are idempotent on retry. */
export class BatchError extends Error {
  constructor(
    message: string,
    readonly errors: readonly Error[],
  ) {
    super(message);
    this.name = 'BatchError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An AWS call failed; the message names the service, operation and resource (DLQ records carry it). */
export class AwsCallError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what} failed: ${(cause as Error)?.name ?? 'Error'}: ${errorMessage(cause)}`, { cause });
    this.name = 'AwsCallError';
  }
}

/** Runs an AWS call, turning a failure into an AwsCallError that says what was being done. */
export async function awsCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new AwsCallError(what, err);
  }
}
