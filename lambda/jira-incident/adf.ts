/**
 * Atlassian Document Format (ADF) as typed objects. Alarm text only ever lands in `text` nodes (and a
 * validated https `href`), so no alarm content can add nodes or marks to the document.
 */
import { ALARM_TYPE_LABEL, alarmConsoleUrl, type AlarmStateChange } from './events';
import { multiLine } from './text';

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

function detailsList(change: AlarmStateChange): BulletList {
  const consoleUrl = alarmConsoleUrl(change);
  const items = [
    field('Alarm', change.alarmName, code),
    field('Account', change.accountId),
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
export function issueDescription(change: AlarmStateChange, replaces?: ReplacedIssue): AdfDoc {
  return doc(
    paragraph(
      text('CloudWatch alarm '),
      text(change.alarmName, strong),
      text(` in account ${change.accountId} (${change.region}) changed to ${change.newState} at ${change.timestamp}.`),
    ),
    replaces
      ? paragraph(
          text(`This issue replaces ${replaces.issueKey}, which was deleted or moved`, strong),
          text(replaces.reason ? ` (${replaces.reason}).` : '.'),
        )
      : undefined,
    detailsList(change),
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
