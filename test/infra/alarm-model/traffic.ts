/**
 * Application log lines for the alarm scenarios, in the shape the applications log (lib/metrics.ts): one JSON
 * object per line with `level`, `event`, `latencyMs` and, for AWS errors, `errorCode`.
 */
import { LogEvent } from './cloudwatch-model';

/** What one account logs per minute. Rates may be fractional: they are spread evenly over the minutes. */
export interface Traffic {
  /** Processed payments per minute. */
  readonly payments?: number;
  /** Share of the payments at or above `slowMs` (0..1). */
  readonly slowShare?: number;
  /** Latency of a slow payment; fast payments take 80..(slowMs / 2) ms. */
  readonly slowMs?: number;
  /** ERROR lines per minute. */
  readonly errors?: number;
  /** Health-check lines per minute (INFO, not payments). */
  readonly health?: number;
  /** Throttled AWS calls per minute, by errorCode. */
  readonly throttled?: Readonly<Record<string, number>>;
}

/** A small deterministic PRNG (mulberry32), so scenarios are reproducible. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** How many of a rate fall into minute m: floor((m + 1) r) - floor(m r), so fractional rates spread evenly. */
export const spread = (rate: number, m: number) => Math.floor((m + 1) * rate + 1e-9) - Math.floor(m * rate + 1e-9);

export function logLines(m: number, traffic: Traffic, rng: () => number): LogEvent[] {
  const out: LogEvent[] = [];
  const slowMs = traffic.slowMs ?? 2000;
  const payments = spread(traffic.payments ?? 0, m);
  const slow = Math.min(payments, spread((traffic.payments ?? 0) * (traffic.slowShare ?? 0), m));
  for (let i = 0; i < payments; i++) {
    const latencyMs = i < slow ? slowMs + Math.floor(rng() * slowMs) : 80 + Math.floor(rng() * (slowMs / 2 - 80));
    out.push({ minute: m, json: { level: 'INFO', event: 'payment_processed', latencyMs, paymentId: `p-${m}-${i}` } });
  }
  for (let i = 0; i < spread(traffic.errors ?? 0, m); i++) {
    out.push({ minute: m, json: { level: 'ERROR', event: 'payment_failed', message: 'card network timeout' } });
  }
  for (let i = 0; i < spread(traffic.health ?? 0, m); i++) {
    out.push({ minute: m, json: { level: 'INFO', event: 'health_check', status: 'ok' } });
  }
  for (const [errorCode, rate] of Object.entries(traffic.throttled ?? {})) {
    for (let i = 0; i < spread(rate, m); i++) {
      out.push({
        minute: m,
        json: { level: 'WARN', event: 'aws_call_failed', errorCode, service: 'dynamodb', operation: 'PutItem' },
      });
    }
  }
  return out;
}
