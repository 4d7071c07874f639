/**
 * The coverage report's table (scripts/lib/table.ts formatTable) read back as records keyed by header: the header
 * line starts with `account `, columns are located by the dashed rule under it, rows end at the first blank line.
 */
export function parseTable(stdout: string): Record<string, string>[] {
  const lines = stdout.split('\n');
  const h = lines.findIndex((l) => l.startsWith('account '));
  if (h < 0) return [];
  const spans = [...lines[h + 1].matchAll(/-+/g)].map((m) => m.index!);
  const cut = (line: string, i: number) => line.slice(spans[i], spans[i + 1]).trim();
  const headers = spans.map((_, i) => cut(lines[h], i));
  const rows: Record<string, string>[] = [];
  for (const line of lines.slice(h + 2)) {
    if (line.trim() === '') break;
    rows.push(Object.fromEntries(headers.map((k, i) => [k, cut(line, i)])));
  }
  return rows;
}
