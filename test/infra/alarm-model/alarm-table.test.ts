import * as fs from 'fs';
import * as path from 'path';
import { synthesize } from '../support';
import { alarmTable, readmeBlock, TABLE_END, TABLE_START } from './alarm-table';
import { alarmNames, templatesOf } from './scenario-kit';

const templates = templatesOf(synthesize());
const table = alarmTable(templates);
const README = path.join(__dirname, '..', '..', '..', 'README.md');
const block = readmeBlock(fs.readFileSync(README, 'utf8'));

test('the table has one row per alarm of the catalogue, each with a worst case or "email only"', () => {
  const names = alarmNames(templates.suffix);
  const rows = table.split('\n').filter((line) => line.startsWith('| `'));
  expect(rows).toHaveLength(Object.keys(names.member).length + Object.keys(names.hub).length);
  for (const row of rows) expect(row).toMatch(/\| (email only|\d+ min.*|ticket when `canary.critical`) \|$/);
});

(block === undefined ? test.skip : test)('the README alarm table is up to date', () => {
  if (block !== table) {
    throw new Error(
      `README.md's alarm table (between ${TABLE_START} and ${TABLE_END}) is out of date. ` +
        'Regenerate it with `npx tsx scripts/alarm-table.ts` and paste the output between the markers.',
    );
  }
});
