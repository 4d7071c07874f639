import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

/**
 * X-Ray subsegments for the handler's downstream calls (JIRA, DynamoDB, SNS, SQS, Secrets Manager, CloudWatch,
 * Systems Manager), sent to the X-Ray daemon that Lambda runs beside a function with active tracing.
 *
 * Why not Powertools Tracer: it wraps aws-xray-sdk-core, 127 KB minified on its own (measured with esbuild,
 * `npm run bench`), more than this whole handler; the handler needs only "one subsegment per call". What this
 * file does is the documented wire protocol of the daemon, nothing more:
 * - Lambda passes the trace context in `_X_AMZN_TRACE_ID` (`Root=1-...;Parent=<segment id>;Sampled=0|1`) and the
 *   daemon address in `AWS_XRAY_DAEMON_ADDRESS` (Lambda developer guide, "Defined runtime environment variables").
 * - A subsegment sent on its own carries `type: "subsegment"`, `trace_id` and `parent_id`; it goes to the daemon as
 *   one UDP datagram: the header `{"format": "json", "version": 1}`, a newline, the document (X-Ray developer
 *   guide, "Sending trace data to AWS X-Ray", "Sending segment documents to the X-Ray daemon").
 * - Fields: `namespace` `aws` for AWS SDK calls (with `aws.operation`, `aws.region`, `aws.request_id`) and
 *   `remote` for other downstream HTTP calls (with `http.request`/`http.response`); `error` for a 4xx, `throttle`
 *   as well for a 429, `fault` for a 5xx or no response (X-Ray developer guide, "AWS X-Ray segment documents").
 * - Unsampled traces (`Sampled=0`) send nothing; a document is at most 64 KB (ours are a few hundred bytes).
 * Sending is fire-and-forget: a lost datagram loses one subsegment, never an alarm.
 */

const DAEMON_HEADER = '{"format": "json", "version": 1}\n';

export interface TraceContext {
  readonly traceId: string;
  readonly parentId: string;
  readonly sampled: boolean;
}

/** `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1` -> its parts. */
export function parseTraceHeader(header: string | undefined): TraceContext | undefined {
  if (!header) return undefined;
  const parts = new Map(
    header.split(';').map((part) => {
      const eq = part.indexOf('=');
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()] as const;
    }),
  );
  const traceId = parts.get('Root');
  const parentId = parts.get('Parent');
  if (!traceId || !parentId) return undefined;
  return { traceId, parentId, sampled: parts.get('Sampled') === '1' };
}

/**
 * `AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or `tcp:host:port udp:host:port` (the SDKs' two-address form; segments
 * use the UDP one).
 */
export function parseDaemonAddress(value: string | undefined): { host: string; port: number } | undefined {
  if (!value) return undefined;
  const entries = value.trim().split(/\s+/);
  const udp = entries.find((e) => e.startsWith('udp:')) ?? entries.find((e) => !e.startsWith('tcp:'));
  const address = udp?.replace(/^udp:/, '');
  const colon = address?.lastIndexOf(':') ?? -1;
  if (!address || colon <= 0) return undefined;
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: address.slice(0, colon), port };
}

export interface Subsegment {
  name: string;
  id: string;
  trace_id: string;
  parent_id: string;
  type: 'subsegment';
  namespace: 'aws' | 'remote';
  start_time: number;
  end_time: number;
  error?: boolean;
  throttle?: boolean;
  fault?: boolean;
  http?: { request?: { method: string; url: string }; response?: { status: number } };
  aws?: { operation: string; region?: string; request_id?: string; retries?: number };
  cause?: { exceptions: { id: string; message: string; type: string; remote: boolean }[] };
}

/** Where documents go: the daemon, or (tests) a list. */
export type SegmentSink = (datagram: string) => void;

export function daemonSink(address: { host: string; port: number }): SegmentSink {
  let socket: Socket | undefined;
  return (datagram) => {
    if (!socket) {
      socket = createSocket('udp4');
      socket.on('error', () => undefined);
      socket.unref(); // never keeps an invocation (or a test) alive
    }
    socket.send(datagram, address.port, address.host, () => undefined);
  };
}

/** What the outcome of one call says about it, beyond its name and times. */
type Outcome = Pick<Subsegment, 'error' | 'throttle' | 'fault' | 'http' | 'aws' | 'cause'>;

function statusFlags(status: number | undefined): Pick<Subsegment, 'error' | 'throttle' | 'fault'> {
  if (status === undefined) return { fault: true };
  if (status === 429) return { error: true, throttle: true };
  if (status >= 500) return { fault: true };
  if (status >= 400) return { error: true };
  return {};
}

function cause(error: unknown): Subsegment['cause'] {
  const e = error instanceof Error ? error : new Error(String(error));
  return {
    exceptions: [{ id: newId(), type: e.name, message: e.message.slice(0, 250), remote: true }],
  };
}

const newId = (): string => randomBytes(8).toString('hex');

export interface TracerOptions {
  /** Off: every method is a pass-through. */
  readonly enabled: boolean;
  readonly sink?: SegmentSink;
  /** The current invocation's trace header. */
  readonly traceHeader?: () => string | undefined;
  readonly now?: () => number;
}

/** What `instrument` needs of an AWS SDK v3 client (any client's `middlewareStack.add` fits `never[]`). */
export interface InstrumentableClient {
  middlewareStack: { add: (...args: never[]) => void };
  config: { region?: unknown };
}

/** The initialize-step middleware shape of the AWS SDK v3 (Smithy `InitializeMiddleware`), structurally. */
type Middleware = (
  next: (args: unknown) => Promise<unknown>,
  context: Record<string, unknown>,
) => (args: unknown) => Promise<unknown>;
type AddMiddleware = (
  middleware: Middleware,
  options: { step: 'initialize'; name: string; override?: boolean },
) => void;

export class Tracer {
  readonly enabled: boolean;
  private readonly sink?: SegmentSink;
  private readonly traceHeader: () => string | undefined;
  private readonly now: () => number;

  constructor(options: TracerOptions) {
    this.sink = options.sink;
    this.enabled = options.enabled && options.sink !== undefined;
    this.traceHeader = options.traceHeader ?? (() => process.env._X_AMZN_TRACE_ID);
    this.now = options.now ?? Date.now;
  }

  /** The tracer Lambda's environment asks for: on when POWERTOOLS_TRACE_ENABLED is not `false` and a daemon is there. */
  static fromEnvironment(env: NodeJS.ProcessEnv = process.env): Tracer {
    const address = parseDaemonAddress(env.AWS_XRAY_DAEMON_ADDRESS);
    return new Tracer({
      enabled: env.POWERTOOLS_TRACE_ENABLED !== 'false' && address !== undefined,
      sink: address && daemonSink(address),
    });
  }

  /** Runs `call` as one subsegment (when tracing is on and the invocation is sampled). */
  async capture<T>(
    name: string,
    namespace: Subsegment['namespace'],
    call: () => Promise<T>,
    describe: (result: { value?: T; error?: unknown }) => Outcome,
  ): Promise<T> {
    const context = this.enabled ? parseTraceHeader(this.traceHeader()) : undefined;
    if (!context?.sampled) return call();
    const start = this.now();
    const send = (outcome: Outcome) =>
      this.emit({
        name,
        namespace,
        id: newId(),
        trace_id: context.traceId,
        parent_id: context.parentId,
        type: 'subsegment',
        start_time: start / 1000,
        end_time: this.now() / 1000,
        ...outcome,
      });
    try {
      const value = await call();
      send(safely(() => describe({ value })));
      return value;
    } catch (error) {
      send({ ...safely(() => describe({ error })), cause: cause(error) });
      throw error;
    }
  }

  /** `fetch` that records each request as a `remote` subsegment named after the host (JIRA). */
  fetch(base: typeof fetch = (input, init) => globalThis.fetch(input, init)): typeof fetch {
    if (!this.enabled) return base;
    return (input, init) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const method = (init?.method ?? 'GET').toUpperCase();
      // The path names issues; the query is dropped (it may carry JQL with alarm names).
      const request = { method, url: `${url.origin}${url.pathname}` };
      return this.capture(
        url.host,
        'remote',
        () => base(input, init),
        ({ value }) => ({
          http: { request, ...(value ? { response: { status: value.status } } : {}) },
          ...statusFlags(value?.status),
        }),
      );
    };
  }

  /** Adds one subsegment per command (all its retries included) to an AWS SDK v3 client. Returns the client. */
  instrument<C extends InstrumentableClient>(client: C, serviceName: string): C {
    if (!this.enabled) return client;
    const regionOf = async (): Promise<string | undefined> => {
      const region = client.config.region;
      return typeof region === 'function' ? ((await region()) as string) : (region as string | undefined);
    };
    (client.middlewareStack.add as AddMiddleware).call(
      client.middlewareStack,
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        const region = await regionOf().catch(() => undefined);
        return this.capture(
          serviceName,
          'aws',
          () => next(args),
          ({ value, error }) => {
            const metadata = ((value as { output?: { $metadata?: SdkMetadata } } | undefined)?.output?.$metadata ??
              (error as { $metadata?: SdkMetadata } | undefined)?.$metadata) as SdkMetadata | undefined;
            return {
              aws: {
                operation,
                ...(region ? { region } : {}),
                ...(metadata?.requestId ? { request_id: metadata.requestId } : {}),
                ...(metadata?.attempts ? { retries: metadata.attempts - 1 } : {}),
              },
              ...(metadata?.httpStatusCode ? { http: { response: { status: metadata.httpStatusCode } } } : {}),
              ...(error ? statusFlags(metadata?.httpStatusCode) : {}),
            };
          },
        );
      },
      { step: 'initialize', name: 'xraySubsegment', override: true },
    );
    return client;
  }

  private emit(subsegment: Subsegment): void {
    try {
      this.sink?.(DAEMON_HEADER + JSON.stringify(subsegment));
    } catch {
      // Tracing never breaks the handler.
    }
  }
}

interface SdkMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts?: number;
}

function safely(describe: () => Outcome): Outcome {
  try {
    return describe();
  } catch {
    return {};
  }
}
