/**
 * Prints the README's alarm table (per alarm: meaning, where it lives, period and evaluation, missing data,
 * worst-case time from failure to ticket), generated from the synthesized templates by the alarm model.
 *
 *   npx tsx scripts/alarm-table.ts
 *
 * Paste the output between `<!-- alarm-table:start -->` and `<!-- alarm-table:end -->` in README.md;
 * test/infra/alarm-model/alarm-table.test.ts checks that block.
 */
import { alarmTable } from '../test/infra/alarm-model/alarm-table';
import { templatesOf } from '../test/infra/alarm-model/scenario-kit';
import { synthesize } from '../test/infra/support';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('Usage: npx tsx scripts/alarm-table.ts\nPrints the README alarm table (markdown) to stdout.');
  process.exit(0);
}
console.log(alarmTable(templatesOf(synthesize())));
