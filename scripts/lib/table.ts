/**
 * A small plain-text table for terminals (no colours, so it reads the same piped into a file or a
 * ticket). Columns are padded to their widest cell; cells are made single-line and, when a column
 * has a `maxWidth`, truncated with an ellipsis so one long error message cannot wrap the whole table.
 */

export interface Column {
  header: string;
  align?: 'left' | 'right';
  /** Longest cell shown; longer cells end in '…'. */
  maxWidth?: number;
}

/** Characters as the terminal shows them (code points, not UTF-16 units), so unicode alarm names line up. */
function width(s: string): number {
  return [...s].length;
}

function fit(value: unknown, maxWidth?: number): string {
  const text = String(value ?? '')
    .replace(/\s+/g, ' ')
    .trim();
  if (maxWidth === undefined || width(text) <= maxWidth) return text;
  return [...text].slice(0, Math.max(1, maxWidth - 1)).join('') + '…';
}

function pad(text: string, size: number, align: 'left' | 'right'): string {
  const gap = ' '.repeat(Math.max(0, size - width(text)));
  return align === 'right' ? gap + text : text + gap;
}

/** Renders header, a dashed rule and the rows; trailing spaces are trimmed from every line. */
export function formatTable(columns: readonly (Column | string)[], rows: readonly (readonly unknown[])[]): string {
  const cols: Column[] = columns.map((c) => (typeof c === 'string' ? { header: c } : c));
  const cells = rows.map((row) => cols.map((c, i) => fit(row[i], c.maxWidth)));
  const widths = cols.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i]))));
  const line = (values: string[]) =>
    values
      .map((v, i) => pad(v, widths[i], cols[i].align ?? 'left'))
      .join('  ')
      .trimEnd();
  return [line(cols.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map((r) => line(r))].join(
    '\n',
  );
}
