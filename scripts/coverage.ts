/** `npm run coverage -- --help`: the logic and its tests live in scripts/lib/coverage.ts. */
import { processOutput } from './lib/cli';
import { coverage } from './lib/coverage';

coverage(process.argv.slice(2), processOutput).then((code) => {
  process.exitCode = code;
});
