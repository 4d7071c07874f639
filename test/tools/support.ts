/** Helpers for the operator-tool tests: captured output, and the real entry points run through tsx. */
import { spawnSync } from 'child_process';
import * as path from 'path';
import type { Output } from '../../scripts/lib/cli';

export const ROOT = path.resolve(__dirname, '..', '..');

export function captureOutput(): Output & { stdout(): string; stderr(): string } {
  const out: string[] = [];
  const err: string[] = [];
  const add = (to: string[]) => (text?: string) => {
    if (text !== undefined) to.push(text.endsWith('\n') ? text : `${text}\n`);
    return to.join('');
  };
  const stdout = add(out);
  const stderr = add(err);
  return { stdout, stderr } as Output & { stdout(): string; stderr(): string };
}

/** Runs `tsx <script> ...args` from the repository root, as `npm run <name> -- ...args` does. */
export function runScript(script: string, args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), [script, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
