import { formatTable } from '../../scripts/lib/table';

describe('formatTable', () => {
  test('pads every column to its widest cell, right-aligns numbers on request, trims line ends', () => {
    const out = formatTable(
      ['name', { header: 'n', align: 'right' }, 'note'],
      [
        ['moved', 12, ''],
        ['left in DLQ', 1, 'garbage'],
      ],
    );
    expect(out.split('\n')).toEqual([
      'name          n  note',
      '-----------  --  -------',
      'moved        12',
      'left in DLQ   1  garbage',
    ]);
  });

  test('cells are one line; a maxWidth column ends long cells in an ellipsis', () => {
    const out = formatTable([{ header: 'detail', maxWidth: 10 }], [['line one\nline two'], ['short']]);
    expect(out.split('\n')).toEqual(['detail', '----------', 'line one …', 'short']);
  });

  test('unicode alarm names line up (code points, not UTF-16 units)', () => {
    const out = formatTable(
      ['alarm', 'state'],
      [
        ['zahlungen-😀', 'ALARM'],
        ['x', 'OK'],
      ],
    );
    const [, , a, b] = out.split('\n');
    expect([...a].indexOf('A')).toBe([...b].indexOf('O'));
  });
});
