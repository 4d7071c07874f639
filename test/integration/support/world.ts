/**
 * Per-suite and per-test wiring: moto (per test file), fresh AWS resources + fake JIRA + handler
 * environment + log capture (per test), and teardown.
 *
 *   describeWithMoto('...', () => {
 *     const w = useWorld();
 *     test('...', async () => { const out = await w().invoke(event); ... });
 *   });
 */
import { awsClients, createResources, Mailbox, tableItems, type AwsClients, type TestResources } from './aws';
import { FakeJira, type FakeJiraOptions } from './jira-server';
import {
  applyEnv,
  AsyncInvoker,
  handlerEnv,
  invoke,
  loadHandler,
  LogCapture,
  settleStragglers,
  type Handler,
  type InvokeOutcome,
} from './lambda';
import { startMoto, type Moto } from './moto';

export interface World {
  moto: Moto;
  clients: AwsClients;
  resources: TestResources;
  jira: FakeJira;
  logs: LogCapture;
  mailbox: Mailbox;
  /** The handler's environment variables for this test. */
  env: Record<string, string | undefined>;
  /** Changes handler environment variables (undefined deletes) and forces a cold start. */
  configure(overrides: Record<string, string | undefined>): void;
  /** The handler module for the current environment (loaded on first use; fresh per test). */
  handler(): Handler;
  /**
   * Another execution environment: a separately loaded handler module (own caches and clients), as
   * Lambda runs concurrent invocations in different containers.
   */
  newContainer(): Handler;
  invoke(event: unknown, budgetMs?: number): Promise<InvokeOutcome>;
  asyncInvoker(opts?: {
    budgetMs?: number;
    retryAttempts?: number;
    retryDelayMs?: number;
    handler?: Handler;
  }): AsyncInvoker;
  items(): Promise<Record<string, unknown>[]>;
}

export function useWorld(opts: { jira?: FakeJiraOptions } = {}): () => World {
  let moto: Moto | undefined;
  let clients: AwsClients | undefined;
  let world: World | undefined;
  let restoreEnv: (() => void)[] = [];

  beforeAll(async () => {
    moto = await startMoto();
    clients = awsClients(moto.endpoint);
  });

  afterAll(async () => {
    clients?.destroy();
    await moto?.stop();
  });

  beforeEach(async () => {
    const m = moto!;
    const c = clients!;
    const resources = await createResources(c);
    const jira = await new FakeJira({
      email: resources.secret.email,
      apiToken: resources.secret.apiToken,
      ...opts.jira,
    }).start();
    const logs = new LogCapture().start();
    const env = handlerEnv({ motoEndpoint: m.endpoint, jiraUrl: jira.url, resources });
    restoreEnv = [applyEnv(env)];
    let handler: Handler | undefined;
    const self: World = {
      moto: m,
      clients: c,
      resources,
      jira,
      logs,
      mailbox: new Mailbox(c, resources),
      env,
      configure(overrides) {
        Object.assign(env, overrides);
        restoreEnv.push(applyEnv(overrides));
        handler = undefined;
      },
      handler() {
        handler ??= loadHandler();
        return handler;
      },
      newContainer: () => loadHandler(),
      invoke: (event, budgetMs) => invoke(self.handler(), event, budgetMs),
      asyncInvoker: (o = {}) =>
        new AsyncInvoker({
          handler: o.handler ?? self.handler(),
          clients: c,
          dlqUrl: resources.dlqUrl,
          budgetMs: 10_000,
          ...o,
        }),
      items: () => tableItems(c, resources.tableName),
    };
    world = self;
  });

  afterEach(async () => {
    await settleStragglers();
    const current = world;
    current?.logs.stop();
    await current?.jira.stop();
    for (const restore of restoreEnv.reverse()) restore();
    restoreEnv = [];
    world = undefined;
    if (!current) return;
    // Invariants of every test: JIRA only got spec-valid requests, and no credential reached the logs.
    const { jira, logs, resources } = current;
    if (jira.violations.length > 0) {
      throw new Error(`JIRA request violations:\n${JSON.stringify(jira.violations, null, 2)}`);
    }
    const basic = Buffer.from(`${resources.secret.email}:${resources.secret.apiToken}`).toString('base64');
    for (const secret of [resources.secret.apiToken, jira.apiToken, basic]) {
      if (logs.text().includes(secret)) throw new Error('a JIRA credential appears in the handler logs');
    }
  });

  return () => {
    if (!world) throw new Error('useWorld(): no test is running');
    return world;
  };
}
