/**
 * Pipeline-wide JIRA back-pressure. A 429 is not one request's problem: JIRA rate-limits the bot's token, so
 * every invocation should slow down. The `Retry-After` of any 429 becomes a cool-down in the incident table
 * (`PIPELINE#jira-cool-down`, only ever extended), which every invocation reads (at most once per
 * CHECK_INTERVAL_MS, plus what its own 429s taught it) before each JIRA request: it waits out a cool-down
 * that ends in time, and otherwise gives up the request with JiraRateLimitedError (a queue record is then
 * deferred to the end of the cool-down).
 */
import type { Clock } from './clock';
import { JiraRateLimitedError } from './errors';
import type { CoolDown } from './incident-store';
import { logger } from './logger';

/** How stale a container's view of the shared cool-down may be (bounds the extra 429s of other containers). */
export const CHECK_INTERVAL_MS = 1_000;
/** A request is not started with less time than this left before the deadline (as the JIRA client). */
const MIN_REQUEST_MS = 250;

export interface CoolDownStore {
  getCoolDown(): Promise<CoolDown | undefined>;
  recordCoolDown(untilMs: number, reason: string, now: number): Promise<void>;
}

export class JiraThrottle {
  /** The latest cool-down end this container knows of (epoch ms). */
  private knownUntil = 0;
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: CoolDownStore,
    private readonly clock: Clock,
  ) {}

  /** When JIRA accepts requests again (epoch ms; in the past when it does now). A failed read counts as none. */
  async coolDownUntil(): Promise<number> {
    const now = this.clock.now();
    if (this.knownUntil > now || now - this.checkedAt < CHECK_INTERVAL_MS) return this.knownUntil;
    this.checkedAt = now;
    try {
      const shared = await this.store.getCoolDown();
      if (shared && shared.untilMs > this.knownUntil) this.knownUntil = shared.untilMs;
    } catch (err) {
      // JIRA itself answers 429 if it still wants us to wait: fail open.
      logger.warn('Could not read the JIRA cool-down', { error: err as Error });
    }
    return this.knownUntil;
  }

  /** Before a JIRA request: waits out a cool-down that ends in time, else throws JiraRateLimitedError. */
  async beforeRequest(what: string, deadline: number): Promise<void> {
    const until = await this.coolDownUntil();
    const waitMs = until - this.clock.now();
    if (waitMs <= 0) return;
    if (until + MIN_REQUEST_MS > deadline) {
      throw new JiraRateLimitedError(
        `${what} not attempted: JIRA rate-limits the pipeline until ${new Date(until).toISOString()} ` +
          `(not retried: waiting ${waitMs} ms would pass the invocation deadline)`,
        until,
      );
    }
    logger.info('Waiting for the JIRA cool-down', { what, waitMs, until: new Date(until).toISOString() });
    await this.clock.sleep(waitMs);
  }

  /** A 429 said to wait `delayMs`: every invocation waits that long (best effort: a failed write is logged). */
  async rateLimited(delayMs: number, reason: string): Promise<number> {
    const now = this.clock.now();
    const until = now + Math.max(0, Math.round(delayMs));
    if (until <= this.knownUntil) return this.knownUntil;
    this.knownUntil = until;
    try {
      await this.store.recordCoolDown(until, reason, now);
      logger.warn('JIRA rate limit: pipeline cool-down recorded', { until: new Date(until).toISOString(), delayMs });
    } catch (err) {
      logger.warn('Could not record the JIRA cool-down', { error: err as Error });
    }
    return until;
  }
}
