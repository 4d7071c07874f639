/**
 * Digest emails: the state changes that are not emailed one by one (email-only alarms, INSUFFICIENT_DATA, and
 * critical alarms on an alarm storm's umbrella issue) become one email per digest batch, grouped by new state
 * (ALARM, INSUFFICIENT_DATA, OK), then by account (by name), then by time. One entry is a few lines: time,
 * alarm, region, transition, the reason (cut to REASON_MAX) and the ticket when JIRA did something for it.
 *
 * SNS takes at most 256 KiB per message and under 100 ASCII characters of subject: a digest whose text would be
 * larger is split into parts of at most MESSAGE_MAX_BYTES (UTF-8), each a complete email ("part 2/3" in the
 * subject; group headers repeated with "continued"), never splitting an entry.
 */
import type { AlarmState, AlarmStateChange } from './events';
import type { JiraResult } from './incident-store';
import { browseUrl, type Email } from './notifier';
import { accountLabel, asciiSingleLine, singleLine } from './text';

/** Leaves room under SNS's 256 KiB for the envelope of SQS / HTTP subscriptions (escaping, metadata). */
export const MESSAGE_MAX_BYTES = 240 * 1024;
export const SUBJECT_MAX = 99;
/** Reasons are cut in the digest: the full reason is in CloudWatch and in the alarm's ticket. */
export const REASON_MAX = 300;
/** Bytes kept free in a part for its header and footer. */
const FRAME_BYTES = 4 * 1024;

const STATE_ORDER: readonly AlarmState[] = ['ALARM', 'INSUFFICIENT_DATA', 'OK'];

export interface DigestEntry {
  readonly change: AlarmStateChange;
  /** What JIRA did for the change (critical alarms), if anything. */
  readonly jira?: JiraResult;
}

export interface DigestPart {
  readonly email: Email;
  readonly entries: readonly DigestEntry[];
  /** 1-based. */
  readonly part: number;
  readonly parts: number;
}

export interface DigestOptions {
  readonly digestId: string;
  readonly jiraBaseUrl: string;
  readonly accountNames: Readonly<Record<string, string>>;
  readonly maxBytes?: number;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

function entryText(entry: DigestEntry, jiraBaseUrl: string): string {
  const c = entry.change;
  const lines = [
    `${c.timestamp}  ${singleLine(c.alarmName, 255)} (${c.region})  ${c.previousState ?? '?'} -> ${c.newState}`,
    `    ${singleLine(c.reason || '(no reason given)', REASON_MAX)}`,
  ];
  const j = entry.jira;
  if (j?.issueKey) {
    const what = { created: 'storm issue created', commented: 'comment added', resolved: 'recovery commented' }[
      j.outcome
    ];
    lines.push(`    JIRA: ${j.issueKey}${what ? ` (${what})` : ''} ${browseUrl(jiraBaseUrl, j.issueKey)}`);
  }
  return lines.join('\n');
}

interface Group {
  readonly state: AlarmState;
  readonly account: string;
  readonly label: string;
  readonly entries: DigestEntry[];
}

/** Entries grouped by state (fixed order), then account (by label), then time and alarm name. */
function groups(entries: readonly DigestEntry[], names: Readonly<Record<string, string>>): Group[] {
  const byKey = new Map<string, Group>();
  for (const entry of entries) {
    const { newState, accountId } = entry.change;
    const key = `${newState}\n${accountId}`;
    let g = byKey.get(key);
    if (!g) {
      const name = names[accountId];
      g = { state: newState, account: accountId, label: accountLabel(accountId, name), entries: [] };
      byKey.set(key, g);
    }
    g.entries.push(entry);
  }
  const list = [...byKey.values()];
  const label = (g: Group) => (names[g.account] ?? '') + g.account;
  list.sort((a, b) => STATE_ORDER.indexOf(a.state) - STATE_ORDER.indexOf(b.state) || label(a).localeCompare(label(b)));
  for (const g of list) {
    g.entries.sort(
      (a, b) => a.change.stateAtMs - b.change.stateAtMs || a.change.alarmName.localeCompare(b.change.alarmName),
    );
  }
  return list;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

/** The digest of `entries` as one email, or several parts when it is too large for one SNS message. */
export function buildDigest(entries: readonly DigestEntry[], opts: DigestOptions): DigestPart[] {
  if (entries.length === 0) return [];
  const maxBytes = opts.maxBytes ?? MESSAGE_MAX_BYTES;
  const grouped = groups(entries, opts.accountNames);

  // Pass 1: cut the grouped entries into parts that fit, never splitting an entry.
  const parts: { group: Group; entries: DigestEntry[] }[][] = [[]];
  let used = 0;
  for (const group of grouped) {
    const headers = bytes(stateHeader(group.state, 0, false)) + bytes(accountHeader(group, 0, false)) + 4;
    for (const entry of group.entries) {
      const size = bytes(entryText(entry, opts.jiraBaseUrl)) + 1;
      const current = parts[parts.length - 1];
      const last = current[current.length - 1];
      const extra = last?.group === group ? size : size + headers;
      if (used + extra > maxBytes - FRAME_BYTES && current.length > 0) {
        parts.push([{ group, entries: [entry] }]);
        used = size + headers;
      } else if (last?.group === group) {
        last.entries.push(entry);
        used += extra;
      } else {
        current.push({ group, entries: [entry] });
        used += extra;
      }
    }
  }

  // Pass 2: render each part with its place in the whole.
  const states = countBy(entries, (e) => e.change.newState);
  const accounts = new Set(entries.map((e) => e.change.accountId)).size;
  const times = entries.map((e) => e.change.stateAtMs);
  const span = `${new Date(Math.min(...times)).toISOString()} to ${new Date(Math.max(...times)).toISOString()}`;
  const counts = STATE_ORDER.filter((s) => states.has(s)).map((s) => `${s} ${states.get(s)}`);
  const n = parts.length;
  return parts.map((chunks, i) => {
    const part = i + 1;
    const tag = n > 1 ? ` (part ${part}/${n})` : '';
    const shortCounts = STATE_ORDER.filter((s) => states.has(s))
      .map((s) => `${states.get(s)} ${s === 'INSUFFICIENT_DATA' ? 'INSUFFICIENT' : s}`)
      .join(', ');
    const subject = asciiSingleLine(
      `[DIGEST] ${plural(entries.length, 'state change')}, ${plural(accounts, 'account')}: ${shortCounts}${tag}`,
      SUBJECT_MAX,
    );
    const lines = [
      `Digest of ${plural(entries.length, 'alarm state change')} in ${plural(accounts, 'account')}, state changes from ${span}.`,
      `${counts.join(', ')}.${n > 1 ? ` Part ${part} of ${n}.` : ''}`,
      '',
      'These state changes are not emailed one by one: alarms that get no JIRA ticket, INSUFFICIENT_DATA, and',
      "critical alarms added to an alarm storm's issue. Critical ALARM and OK of alarms with their own issue, and",
      "the opening of an alarm storm's issue, are emailed at once.",
    ];
    let previousState: AlarmState | undefined = i > 0 ? parts[i - 1].at(-1)?.group.state : undefined;
    let previousGroup: Group | undefined = i > 0 ? parts[i - 1].at(-1)?.group : undefined;
    for (const chunk of chunks) {
      const g = chunk.group;
      if (g.state !== previousState || chunks.indexOf(chunk) === 0) {
        lines.push('', stateHeader(g.state, states.get(g.state) ?? 0, g.state === previousState));
      }
      lines.push('', accountHeader(g, g.entries.length, g === previousGroup));
      for (const entry of chunk.entries) lines.push(entryText(entry, opts.jiraBaseUrl));
      previousState = g.state;
      previousGroup = g;
    }
    lines.push(
      '',
      `Digest id: ${opts.digestId}${n > 1 ? ` (part ${part} of ${n})` : ''}. The record of each state change in the ` +
        'incident table (CHANGE#<state change id>) names this digest.',
    );
    return { email: { subject, message: lines.join('\n') }, entries: chunks.flatMap((c) => c.entries), part, parts: n };
  });
}

function stateHeader(state: AlarmState, count: number, continued: boolean): string {
  return `=== ${state} (${count})${continued ? ', continued' : ''} ===`;
}

function accountHeader(group: Group, count: number, continued: boolean): string {
  return `--- ${group.label}: ${plural(count, 'state change')}${continued ? ', continued' : ''} ---`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
