/** Shared assertions and result helpers for the handler's integration tests. */
import type { FakeJira } from './jira-server';
import type { AsyncInvocation } from './lambda';

export type Outcome = 'created' | 'commented' | 'resolved' | 'notified' | 'suppressed' | 'duplicate' | 'ignored';
export interface ChangeResult {
  outcome: Outcome;
  issueKey?: string;
  reason?: string;
  eventId?: string;
  alarmName?: string;
}

/** The handler returns one result, or `{ results: [...] }` for an SNS batch: always a list here. */
export function resultsOf(result: unknown): ChangeResult[] {
  if (result && typeof result === 'object' && Array.isArray((result as { results?: unknown }).results)) {
    return (result as { results: ChangeResult[] }).results;
  }
  return [result as ChangeResult];
}

export function single(result: unknown): ChangeResult {
  const rs = resultsOf(result);
  if (rs.length !== 1) throw new Error(`expected one result, got ${JSON.stringify(result)}`);
  return rs[0];
}

/** Every JIRA request matched the OpenAPI spec and JIRA's rules, was authenticated, and used supported JQL. */
export function expectCleanJiraTraffic(jira: FakeJira): void {
  expect({
    violations: jira.violations,
    authFailures: jira.authFailures.length,
    jqlWarnings: jira.jqlWarnings,
  }).toEqual({
    violations: [],
    authFailures: 0,
    jqlWarnings: [],
  });
}

/** How an async invocation ended, in the accounting test's categories. */
export type Fate = 'ticket-created' | 'comment' | 'notified-only' | 'ignored-with-reason' | 'dlq';

export function fateOf(inv: AsyncInvocation): Fate[] {
  if (inv.final === 'dlq') return ['dlq'];
  return resultsOf(inv.result).map((r) => {
    switch (r.outcome) {
      case 'created':
        return 'ticket-created';
      case 'commented':
      case 'resolved':
        return 'comment';
      case 'notified':
        return 'notified-only';
      case 'suppressed':
      case 'duplicate':
      case 'ignored':
        if (typeof r.reason !== 'string' || r.reason.trim() === '') {
          throw new Error(`outcome '${r.outcome}' without a reason: ${JSON.stringify(r)}`);
        }
        return 'ignored-with-reason';
      default:
        throw new Error(`unknown outcome: ${JSON.stringify(r)}`);
    }
  });
}
