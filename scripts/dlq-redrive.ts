/** `npm run dlq:redrive -- --help`: the logic and its tests live in scripts/lib/dlq-redrive.ts. */
import { processOutput } from './lib/cli';
import { dlqRedrive } from './lib/dlq-redrive';

// First Ctrl-C: finish the current message, hand the rest back to the queue, print the summary. Second: quit.
const controller = new AbortController();
process.once('SIGINT', () => {
  process.stderr.write('dlq:redrive: stopping after the current message (Ctrl-C again to quit now)\n');
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});

dlqRedrive(process.argv.slice(2), processOutput, { signal: controller.signal }).then((code) => {
  process.exitCode = code;
  process.removeAllListeners('SIGINT');
});
