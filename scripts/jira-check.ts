/** `npm run jira:check -- --help`: the logic and its tests live in scripts/lib/jira-check.ts. */
import { processOutput } from './lib/cli';
import { jiraCheck } from './lib/jira-check';

jiraCheck(process.argv.slice(2), processOutput).then((code) => {
  process.exitCode = code;
});
