import { issueDescription, link, stateChangeComment, text, type AdfDoc } from '../../lambda/jira-incident/adf';
import { parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import { SUBJECT_MAX, buildEmail } from '../../lambda/jira-incident/notifier';
import { asciiSingleLine, jiraLabel, multiLine, singleLine, truncate } from '../../lambda/jira-incident/text';
import { fixture } from './helpers/harness';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function base(): Mutable<AlarmStateChange> {
  const parsed = parseEvent(fixture('eventbridge-alarm-state-change-single-metric.awsdocs.json'));
  if (parsed.kind !== 'change') throw new Error('fixture');
  return { ...parsed.change };
}

/** Every node type and every text in a document. */
function walk(doc: AdfDoc): { types: Set<string>; texts: string[] } {
  const types = new Set<string>();
  const texts: string[] = [];
  const visit = (node: { type: string; text?: string; content?: unknown[] }) => {
    types.add(node.type);
    if (node.text !== undefined) texts.push(node.text);
    for (const child of (node.content ?? []) as (typeof node)[]) visit(child);
  };
  visit(doc as unknown as { type: string });
  return { types, texts };
}

describe('text hygiene', () => {
  test('truncate respects UTF-16 length and never splits a surrogate pair', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 3)).toBe('abc');
    const emoji = 'ab🚨🚨';
    const cut = truncate(emoji, 4);
    expect(cut.length).toBeLessThanOrEqual(4);
    expect(cut).toBe('ab…');
    expect(() => encodeURIComponent(cut)).not.toThrow();
  });

  test('singleLine removes line breaks and control characters; multiLine keeps newlines only', () => {
    expect(singleLine(' a\r\nb\tc\u0000d\u2028e  ', 100)).toBe('a b c d e');
    expect(multiLine('a\r\nb\u0000\u001bc\td', 100)).toBe('a\nbc\td');
  });

  test('asciiSingleLine folds accents and replaces other characters', () => {
    expect(asciiSingleLine('Überlauf café 支付 🚨\nnext', 100)).toBe('Uberlauf cafe ?? ?? next');
    expect(asciiSingleLine('x'.repeat(200), 99)).toHaveLength(99);
  });

  test.each([
    ['ServerCpuTooHigh', 'alarm-ServerCpuTooHigh'],
    ['payments api "p99" latency', 'alarm-payments-api-p99-latency'],
    ['Zahlungsfehler Überlauf.v2', 'alarm-Zahlungsfehler-Überlauf.v2'],
    ['   ', 'alarm-unnamed'],
  ])('jiraLabel(%s) has no whitespace', (name, label) => {
    expect(jiraLabel('alarm-', name)).toBe(label);
  });

  test('jiraLabel caps at 255 characters', () => {
    expect(jiraLabel('alarm-', 'y'.repeat(300))).toHaveLength(255);
  });
});

describe('ADF', () => {
  test('alarm text that looks like ADF/JSON stays inside text nodes', () => {
    const change = base();
    change.alarmName = '"},{"type":"mention","attrs":{"id":"all"}}';
    change.reason = '{"type":"doc","version":1,"content":[{"type":"rule"}]}';
    const { types, texts } = walk(issueDescription(change));
    expect([...types].sort()).toEqual(
      ['bulletList', 'codeBlock', 'doc', 'heading', 'hardBreak', 'listItem', 'paragraph', 'text']
        .filter((t) => types.has(t))
        .sort(),
    );
    expect(types.has('mention')).toBe(false);
    expect(types.has('rule')).toBe(false);
    expect(texts).toContain(change.alarmName);
    expect(texts).toContain(change.reason);
  });

  test('newlines become hardBreak nodes and empty text nodes are never emitted', () => {
    expect(text('a\n\nb')).toEqual([
      { type: 'text', text: 'a' },
      { type: 'hardBreak' },
      { type: 'hardBreak' },
      { type: 'text', text: 'b' },
    ]);
    expect(text('')).toEqual([]);
    const change = base();
    change.reason = '';
    expect(walk(stateChangeComment(change)).texts.every((t) => t.length > 0)).toBe(true);
  });

  test('links only take http(s) URLs', () => {
    expect(link('https://example.com/a b')).toEqual({ type: 'link', attrs: { href: 'https://example.com/a%20b' } });
    expect(() => link('javascript:alert(1)')).toThrow(/refusing link/);
  });

  test('the description carries the facts of the alarm', () => {
    const texts = walk(issueDescription(base())).texts.join(' ');
    for (const fact of [
      'ServerCpuTooHigh',
      '123456789012',
      'us-east-1',
      'OK -> ALARM',
      '2019-10-02T17:04:40.989Z',
      'Goes into alarm when server CPU',
      'Threshold Crossed',
    ]) {
      expect(texts).toContain(fact);
    }
  });
});

describe('email', () => {
  const BASE_URL = 'https://example.atlassian.net';

  test('body names alarm, account, region, states, reason, time, ticket key and link', () => {
    const email = buildEmail(base(), { kind: 'created', issueKey: 'OPS-7' }, BASE_URL);
    expect(email.subject).toBe('[ALARM] ServerCpuTooHigh (123456789012 us-east-1) OPS-7');
    for (const line of [
      'CloudWatch alarm "ServerCpuTooHigh" is now ALARM (was OK).',
      'Account:      123456789012',
      'Region:       us-east-1',
      'State:        OK -> ALARM',
      'Time:         2019-10-02T17:04:40.989Z',
      'Reason:       Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434',
      'JIRA ticket:  OPS-7 (created)',
      'Link:         https://example.atlassian.net/browse/OPS-7',
      'Console:      https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/ServerCpuTooHigh',
    ]) {
      expect(email.message).toContain(line);
    }
  });

  test('a JIRA failure is stated with its reason', () => {
    const email = buildEmail(
      base(),
      { kind: 'failed', error: 'JIRA POST /rest/api/3/issue failed with HTTP 503: down' },
      BASE_URL,
    );
    expect(email.subject).toBe('[ALARM] ServerCpuTooHigh (123456789012 us-east-1) - JIRA FAILED');
    expect(email.message).toContain(
      'JIRA ticket:  could not be created or updated: JIRA POST /rest/api/3/issue failed with HTTP 503: down',
    );
    expect(email.message).toContain('dead-letter queue');
  });

  test.each([
    ['unicode and quotes', `Zahlungsfehler "Überlauf" 支付错误 🚨`],
    ['newlines', 'line1\nline2\r\nline3'],
    ['255 characters', 'n'.repeat(255)],
  ])('subject stays ASCII, single-line and under 100 characters: %s', (_name, alarmName) => {
    const change = base();
    change.alarmName = alarmName;
    const { subject } = buildEmail(change, { kind: 'created', issueKey: 'OPS-123456' }, BASE_URL);
    expect(subject.length).toBeLessThanOrEqual(SUBJECT_MAX);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject).toContain('123456789012');
    expect(subject.endsWith('OPS-123456')).toBe(true);
  });

  test('no ticket is explained', () => {
    const email = buildEmail(
      base(),
      { kind: 'none', note: 'alarm name does not match JIRA_TICKET_ALARM_PATTERN (email only)' },
      BASE_URL,
    );
    expect(email.message).toContain(
      'JIRA ticket:  none (alarm name does not match JIRA_TICKET_ALARM_PATTERN (email only))',
    );
    expect(email.message).not.toContain('/browse/');
  });
});
