/** Text hygiene for values that come from alarms (names, reasons, descriptions): any length, any characters. */

const ELLIPSIS = '…';
// C0/C1 controls, DEL, line/paragraph separators, BOM and bidi overrides: never wanted in a ticket or subject.
/* eslint-disable no-control-regex -- removing control characters is the point */
const LINE_BREAKS_AND_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]+/g;
const CONTROLS_EXCEPT_NEWLINE_TAB =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

/**
 * Cuts `value` so that its UTF-16 length (what JIRA's Java side counts) is at most `max`,
 * ending with `ellipsis` when cut and never splitting a surrogate pair.
 */
export function truncate(value: string, max: number, ellipsis = ELLIPSIS): string {
  if (value.length <= max) return value;
  let end = Math.max(0, max - ellipsis.length);
  const code = value.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1; // do not keep a lone high surrogate
  return value.slice(0, end) + ellipsis;
}

/** One line: controls and line breaks become spaces, whitespace is collapsed, then truncated. */
export function singleLine(value: string, max: number): string {
  const flat = value.replace(LINE_BREAKS_AND_CONTROLS, ' ').replace(/\s+/g, ' ').trim();
  return truncate(flat, max);
}

/** Keeps newlines and tabs, drops other controls, normalises CRLF, then truncates. */
export function multiLine(value: string, max: number): string {
  const clean = value.replace(/\r\n?/g, '\n').replace(CONTROLS_EXCEPT_NEWLINE_TAB, '');
  return truncate(clean, max);
}

/** Printable ASCII only (SNS subjects): accents are folded, anything else becomes '?'. */
export function asciiSingleLine(value: string, max: number): string {
  const folded = value.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
  const ascii = singleLine(folded, Number.MAX_SAFE_INTEGER).replace(/[^\x20-\x7e]/g, '?');
  return truncate(ascii, max, '...');
}

/**
 * A JIRA label (labels cannot contain whitespace): letters and digits of any script plus `_ . -`;
 * everything else becomes '-', repeats collapse, capped at 255.
 */
export function jiraLabel(prefix: string, value: string): string {
  const body = value
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}_.-]+/gu, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '');
  return truncate(`${prefix}${body || 'unnamed'}`, 255, '');
}

/** `123456789012 (payments-prod)` when the account has a configured name, else the id. */
export function accountLabel(accountId: string, name?: string): string {
  const clean = name ? singleLine(name, 100) : '';
  return clean ? `${accountId} (${clean})` : accountId;
}
