/**
 * Starts moto (the AWS emulator) for a test file, through ./moto_locked_server.py, which serialises
 * requests so that DynamoDB conditional writes are atomic (see that file).
 *
 * Missing python3 or moto:
 *  - when `CI` is set (any value but '' / 'false' / '0') or `REQUIRE_MOTO=1`, the test file FAILS
 *    with a message that names what is missing and how to install it;
 *  - otherwise (a developer machine) the suite is skipped with a loud console warning.
 * Set `MOTO_PYTHON` to use another interpreter (default `python3`).
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'child_process';
import * as http from 'http';
import * as path from 'path';

export const MOTO_SCRIPT = path.join(__dirname, 'moto_locked_server.py');
const INSTALL_HINT = 'Install it with: pip install "moto[server]"  (moto >= 5, with Flask/Werkzeug)';

export interface Moto {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
  /** Last lines the server wrote to stderr (for diagnosing failures). */
  stderrTail(): string;
}

export function pythonCommand(): string {
  return process.env.MOTO_PYTHON || 'python3';
}

export function motoRequired(): boolean {
  const ci = (process.env.CI ?? '').toLowerCase();
  return (ci !== '' && ci !== 'false' && ci !== '0') || process.env.REQUIRE_MOTO === '1';
}

let availability: { ok: true } | { ok: false; reason: string } | undefined;

/** Checks (once per test file, synchronously, so it can decide between `describe` and `describe.skip`) that moto imports. */
export function checkMoto(): { ok: true } | { ok: false; reason: string } {
  if (availability) return availability;
  const py = pythonCommand();
  const r = spawnSync(
    py,
    [
      '-c',
      // find_spec, not import: cheap (~0.1 s). A broken install still fails loudly when the server starts.
      'import importlib.util as u, sys\n' +
        'missing = [m for m in ("moto", "flask", "werkzeug") if u.find_spec(m) is None]\n' +
        'sys.exit("missing python modules: " + ", ".join(missing) if missing else 0)',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    availability = {
      ok: false,
      reason:
        code === 'ENOENT'
          ? `'${py}' was not found on PATH (python3 >= 3.9 is required to run moto; set MOTO_PYTHON to use another interpreter). ${INSTALL_HINT}`
          : `running '${py}' failed: ${r.error.message}. ${INSTALL_HINT}`,
    };
  } else if (r.status !== 0) {
    const detail = (r.stderr || r.stdout || '').trim().split('\n').slice(-1)[0];
    availability = {
      ok: false,
      reason: `moto server is not importable by '${py}' (${detail}). ${INSTALL_HINT}`,
    };
  } else {
    availability = { ok: true };
  }
  return availability;
}

/**
 * `describe` when moto is available. When it is not: throws (CI / REQUIRE_MOTO=1) so the test file
 * fails loudly, or warns and skips (developer machine).
 */
export function describeWithMoto(name: string, fn: () => void): void {
  const a = checkMoto();
  if (a.ok) {
    describe(name, fn);
    return;
  }
  const msg = `Integration tests need moto: ${a.reason}`;
  if (motoRequired()) {
    throw new Error(`${msg}\n(CI or REQUIRE_MOTO=1 is set, so a missing emulator is a failure, not a skip.)`);
  }
  console.warn(
    `\n${'!'.repeat(100)}\nSKIPPING "${name}": ${msg}\nSet CI=1 or REQUIRE_MOTO=1 to make this a failure.\n${'!'.repeat(100)}\n`,
  );
  describe.skip(name, fn);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/moto-api/', timeout: 2000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) > 0);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Starts the locked moto server on a free 127.0.0.1 port and waits until it answers HTTP. */
export async function startMoto(timeoutMs = 30_000): Promise<Moto> {
  const py = pythonCommand();
  const child: ChildProcessWithoutNullStreams = spawn(
    py,
    [MOTO_SCRIPT, '--host', '127.0.0.1', '--port', '0', ...(process.env.MOTO_NO_LOCK === '1' ? ['--no-lock'] : [])],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  let stdout = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`moto did not print its ready line within ${timeoutMs} ms. stderr:\n${stderr}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
      const m = /MOTO_READY port=(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
      const missing = /MOTO_MISSING: (.*)/.exec(stdout);
      if (missing) {
        clearTimeout(timer);
        reject(new Error(`moto is not installed: ${missing[1]}`));
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not start '${py}': ${err.message}. ${INSTALL_HINT}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`moto exited early (code ${code}, signal ${signal}). stdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
  const deadline = Date.now() + timeoutMs;
  while (!(await ping(port))) {
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`moto on port ${port} does not answer HTTP. stderr:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.removeAllListeners('exit');
  let exited = false;
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stderrTail: () => stderr,
    async stop() {
      if (exited) return;
      child.stdin.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
