/**
 * Atlassian Document Format (ADF) as typed objects. Alarm text only ever lands in `text` nodes (and a
 * validated https `href`), so no alarm content can add nodes or marks to the document.
 */
import { ALARM_TYPE_LABEL, alarmConsoleUrl, type AlarmStateChange } from './events';
import { accountLabel, multiLine } from './text';

type Mark = { type: 'strong' } | { type: 'code' } | { type: 'link'; attrs: { href: string } };
export interface AdfText {
  type: 'text';
  text: string;
  marks?: Mark[];
}
interface AdfHardBreak {
  type: 'hardBreak';
}
type Inline = AdfText | AdfHardBreak;
interface Paragraph {
  type: 'paragraph';
  content: Inline[];
}
interface Heading {
  type: 'heading';
  attrs: { level: number };
  content: Inline[];
}
interface ListItem {
  type: 'listItem';
  content: Paragraph[];
}
interface BulletList {
  type: 'bulletList';
  content: ListItem[];
}
interface CodeBlock {
  type: 'codeBlock';
  content: AdfText[];
}
type Block = Paragraph | Heading | BulletList | CodeBlock;
export interface AdfDoc {
  type: 'doc';
  version: 1;
  content: Block[];
}

/** Text split into text nodes and hard breaks; empty input yields no nodes (ADF rejects empty text). */
export function text(value: string, ...marks: Mark[]): Inline[] {
  const nodes: Inline[] = [];
  multiLine(value, 32_000)
    .split('\n')
    .forEach((line, i) => {
      if (i > 0) nodes.push({ type: 'hardBreak' });
      if (line !== '') nodes.push(marks.length ? { type: 'text', text: line, marks } : { type: 'text', text: line });
    });
  return nodes;
}

export const strong: Mark = { type: 'strong' };
export const code: Mark = { type: 'code' };

export function link(href: string): Mark {
  const url = new URL(href);
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new Error(`refusing link with protocol ${url.protocol}`);
  return { type: 'link', attrs: { href: url.toString() } };
}

export function paragraph(...content: Inline[][]): Paragraph {
  return { type: 'paragraph', content: content.flat() };
}

export function heading(level: number, value: string): Heading {
  return { type: 'heading', attrs: { level }, content: text(value) };
}

export function bulletList(items: Inline[][]): BulletList {
  return { type: 'bulletList', content: items.map((inline) => ({ type: 'listItem', content: [paragraph(inline)] })) };
}

export function codeBlock(value: string): CodeBlock | undefined {
  const clean = multiLine(value, 32_000);
  return clean.trim() === '' ? undefined : { type: 'codeBlock', content: [{ type: 'text', text: clean }] };
}

export function doc(...blocks: (Block | undefined)[]): AdfDoc {
  return { type: 'doc', version: 1, content: blocks.filter((b): b is Block => b !== undefined) };
}

function field(label: string, value: string | undefined, ...marks: Mark[]): Inline[] | undefined {
  return value ? [...text(`${label}: `, strong), ...text(value, ...marks)] : undefined;
}

function stateChange(change: AlarmStateChange): string {
  return change.previousState ? `${change.previousState} -> ${change.newState}` : change.newState;
}

function detailsList(change: AlarmStateChange, accountName?: string): BulletList {
  const consoleUrl = alarmConsoleUrl(change);
  const items = [
    field('Alarm', change.alarmName, code),
    field('Account', accountLabel(change.accountId, accountName)),
    field('Region', change.region),
    field('State', stateChange(change)),
    field('Time', change.timestamp),
    field('Type', ALARM_TYPE_LABEL[change.alarmType]),
    field('Alarm rule', change.alarmRule, code),
    field('Alarm ARN', change.alarmArn, code),
    field('Metrics', change.metrics.join('; ')),
    consoleUrl ? [...text('Console: ', strong), ...text('open the alarm in CloudWatch', link(consoleUrl))] : undefined,
    field('Event id', change.eventId, code),
    field('State change id', change.changeId, code),
  ];
  return bulletList(items.filter((i): i is Inline[] => i !== undefined));
}

/** An issue of the same incident that a person deleted or moved out of the project. */
export interface ReplacedIssue {
  readonly issueKey: string;
  /** What JIRA answered, e.g. `JIRA POST .../comment failed with HTTP 404: Issue does not exist...`. */
  readonly reason?: string;
}

/** Description of a new incident issue (naming the issue it replaces, when the incident's issue was lost). */
export function issueDescription(change: AlarmStateChange, replaces?: ReplacedIssue, accountName?: string): AdfDoc {
  return doc(
    paragraph(
      text('CloudWatch alarm '),
      text(change.alarmName, strong),
      text(
        ` in account ${accountLabel(change.accountId, accountName)} (${change.region}) changed to ${change.newState} at ${change.timestamp}.`,
      ),
    ),
    replaces
      ? paragraph(
          text(`This issue replaces ${replaces.issueKey}, which was deleted or moved`, strong),
          text(replaces.reason ? ` (${replaces.reason}).` : '.'),
        )
      : undefined,
    change.heldBack ? paragraph(text(heldBackNote(change), strong)) : undefined,
    detailsList(change, accountName),
    heading(3, 'Reason'),
    paragraph(text(change.reason || '(no reason given)')),
    change.description ? heading(3, 'Alarm description') : undefined,
    change.description ? paragraph(text(change.description)) : undefined,
    change.reasonData ? heading(3, 'Reason data') : undefined,
    change.reasonData ? codeBlock(change.reasonData) : undefined,
    paragraph(
      text('Created by the observability hub incident handler. It comments here on every further state change.'),
    ),
  );
}

/** Why an issue opens only now: a maintenance window held its ALARM back. */
export function heldBackNote(change: AlarmStateChange): string {
  const held = change.heldBack;
  if (!held) return '';
  return (
    `Held back by maintenance window ${held.window}: this ALARM came during the window, which muted its ticket. ` +
    `The window ended at ${held.endedAt} and the alarm is still in ALARM, so the ticket opens now.`
  );
}

/** A comment of the handler itself (no state change): a bold headline, then details. */
export function noteComment(headline: string, ...details: (string | undefined)[]): AdfDoc {
  return doc(
    paragraph(text(headline, strong)),
    ...details.filter((d): d is string => Boolean(d)).map((d) => paragraph(text(d))),
  );
}

/** The comment that names the incident's OpsCenter OpsItem. */
export function opsItemComment(opsItemId: string, consoleUrl: string | undefined): AdfDoc {
  return doc(
    paragraph(
      text('OpsCenter OpsItem: ', strong),
      text(opsItemId, code),
      ...(consoleUrl ? [text(' ('), text('open in Systems Manager', link(consoleUrl)), text(')')] : []),
    ),
    paragraph(
      text(
        'AWS Systems Manager OpsCenter tracks this incident too (deduplicated per alarm); it is resolved when the ' +
          'alarm is OK again.',
      ),
    ),
  );
}

/** Comment for a later state change of an open incident (repeat ALARM, OK, INSUFFICIENT_DATA). */
export function stateChangeComment(change: AlarmStateChange, note?: string): AdfDoc {
  return doc(
    paragraph(
      text(`Alarm state changed to ${change.newState} at ${change.timestamp} (${stateChange(change)}).`, strong),
    ),
    paragraph(text('Reason: ', strong), text(change.reason || '(no reason given)')),
    note ? paragraph(text(note)) : undefined,
    paragraph(text('Event id: ', strong), text(change.eventId, code)),
  );
}

/**
 * Comment on an alarm storm's umbrella issue: many alarms share the issue, so each comment names its alarm,
 * account, region, transition and time.
 */
export function stormComment(change: AlarmStateChange, accountName?: string, note?: string): AdfDoc {
  return doc(
    paragraph(
      text(change.alarmName, strong),
      text(
        ` in account ${accountLabel(change.accountId, accountName)}, ${change.region}: ${stateChange(change)} at ${change.timestamp}.`,
      ),
    ),
    paragraph(text('Reason: ', strong), text(change.reason || '(no reason given)')),
    change.heldBack ? paragraph(text(heldBackNote(change))) : undefined,
    note ? paragraph(text(note)) : undefined,
    paragraph(text('Event id: ', strong), text(change.eventId, code)),
  );
}

/** Description of a storm window's umbrella issue; `first` is the ALARM that went over the window's limit. */
export function umbrellaDescription(opts: {
  readonly first: AlarmStateChange;
  readonly accountName?: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly maxNewIssues: number;
  readonly ownIssues: readonly string[];
}): AdfDoc {
  const { first, maxNewIssues } = opts;
  const start = new Date(opts.windowStartMs).toISOString();
  const end = new Date(opts.windowEndMs).toISOString();
  const own = opts.ownIssues.length ? `: ${[...opts.ownIssues].sort().join(', ')}` : '';
  return doc(
    paragraph(
      text('Alarm storm. ', strong),
      text(
        `More than ${maxNewIssues} critical alarms went to ALARM in the storm window ${start} to ${end}. ` +
          `The first ${maxNewIssues} opened their own issues${own}.`,
      ),
    ),
    paragraph(
      text(
        'Every further critical ALARM of the window is added to this issue as a comment (alarm, account, region, ' +
          "time, reason) instead of opening an issue of its own. Each of those alarms' later state changes " +
          '(repeat ALARM, INSUFFICIENT_DATA, OK) is commented here too, the summary counts the alarms and ' +
          'accounts of the window, and their emails come in the digest.',
      ),
    ),
    paragraph(
      text(
        `When the window ends (${end}), new critical ALARMs open their own issues again, up to ${maxNewIssues} per ` +
          "window; a storm that goes on gets the next window's umbrella issue. An alarm on this issue that goes " +
          'to ALARM again after its OK is a new incident of the window it happens in.',
      ),
    ),
    heading(3, 'First alarm over the limit'),
    detailsList(first, opts.accountName),
    heading(3, 'Reason'),
    paragraph(text(first.reason || '(no reason given)')),
  );
}
