import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  parseDaemonAddress,
  parseTraceHeader,
  Tracer,
  daemonSink,
  type Subsegment,
} from '../../lambda/jira-incident/tracing';

const SAMPLED = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:0';
const UNSAMPLED = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0';

/** A tracer that keeps its datagrams, with the invocation's trace header settable. */
function recordingTracer(header: string | undefined = SAMPLED, enabled = true) {
  const datagrams: string[] = [];
  const tracer = new Tracer({ enabled, sink: (d) => datagrams.push(d), traceHeader: () => header });
  const documents = () => datagrams.map(parseDatagram);
  return { tracer, datagrams, documents };
}

/** The daemon's framing (X-Ray developer guide, "Sending segment documents to the X-Ray daemon"). */
function parseDatagram(datagram: string): Subsegment {
  const newline = datagram.indexOf('\n');
  expect(JSON.parse(datagram.slice(0, newline))).toEqual({ format: 'json', version: 1 });
  return JSON.parse(datagram.slice(newline + 1)) as Subsegment;
}

/** The fields X-Ray requires of a subsegment sent on its own ("AWS X-Ray segment documents"). */
function expectValidSubsegment(doc: Subsegment) {
  expect(doc.type).toBe('subsegment');
  expect(doc.id).toMatch(/^[0-9a-f]{16}$/);
  expect(doc.trace_id).toBe('1-5759e988-bd862e3fe1be46a994272793');
  expect(doc.parent_id).toBe('53995c3f42cd8ad8');
  expect(doc.name).toMatch(/^[\p{L}\p{N} _.:/%&#=+\-@]{1,200}$/u);
  expect(doc.start_time).toBeGreaterThan(1e9);
  expect(doc.end_time).toBeGreaterThanOrEqual(doc.start_time);
  expect(Buffer.byteLength(JSON.stringify(doc))).toBeLessThan(64 * 1024);
}

/** A local HTTP server answering every request with `status` and `body` (JSON). */
async function server(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ url: string; close: () => Promise<void> }> {
  const s: Server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => s.close(() => resolve())) };
}

/** A Secrets Manager client against a local endpoint (static credentials, no AWS). */
const secretsClient = (endpoint: string) =>
  new SecretsManagerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });

describe('trace context and daemon address', () => {
  test('the Lambda trace header gives root, parent and the sampling decision', () => {
    expect(parseTraceHeader(SAMPLED)).toEqual({
      traceId: '1-5759e988-bd862e3fe1be46a994272793',
      parentId: '53995c3f42cd8ad8',
      sampled: true,
    });
    expect(parseTraceHeader(UNSAMPLED)?.sampled).toBe(false);
    expect(parseTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793')).toBeUndefined();
    expect(parseTraceHeader(undefined)).toBeUndefined();
  });

  test('AWS_XRAY_DAEMON_ADDRESS in both forms; garbage is no daemon', () => {
    expect(parseDaemonAddress('169.254.79.129:2000')).toEqual({ host: '169.254.79.129', port: 2000 });
    expect(parseDaemonAddress('tcp:127.0.0.1:2000 udp:127.0.0.2:2001')).toEqual({ host: '127.0.0.2', port: 2001 });
    expect(parseDaemonAddress('localhost')).toBeUndefined();
    expect(parseDaemonAddress('host:99999')).toBeUndefined();
    expect(parseDaemonAddress(undefined)).toBeUndefined();
  });

  test('POWERTOOLS_TRACE_ENABLED=false, or no daemon (tracing off in the function), turns it off', () => {
    expect(Tracer.fromEnvironment({ AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000' }).enabled).toBe(true);
    expect(
      Tracer.fromEnvironment({ AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000', POWERTOOLS_TRACE_ENABLED: 'false' })
        .enabled,
    ).toBe(false);
    expect(Tracer.fromEnvironment({}).enabled).toBe(false);
  });
});

describe('subsegments', () => {
  test('unsampled invocations and a disabled tracer send nothing and return the call result', async () => {
    for (const { tracer, datagrams } of [
      recordingTracer(UNSAMPLED),
      recordingTracer(SAMPLED, false),
      recordingTracer(''),
    ]) {
      await expect(
        tracer.capture(
          'x',
          'remote',
          async () => 42,
          () => ({}),
        ),
      ).resolves.toBe(42);
      expect(datagrams).toEqual([]);
    }
  });

  test('JIRA requests are remote subsegments named after the host, without the query; 429 is error + throttle', async () => {
    const jira = await server(429, { errorMessages: ['rate limited'] }, { 'retry-after': '1' });
    try {
      const { tracer, documents } = recordingTracer();
      const traced = tracer.fetch();
      const response = await traced(`${jira.url}/rest/api/3/search/jql?jql=labels%3Dsecret`, { method: 'post' });
      expect(response.status).toBe(429);
      const [doc] = documents();
      expectValidSubsegment(doc);
      expect(doc).toMatchObject({
        namespace: 'remote',
        name: new URL(jira.url).host,
        http: { request: { method: 'POST', url: `${jira.url}/rest/api/3/search/jql` }, response: { status: 429 } },
        error: true,
        throttle: true,
      });
      expect(doc.fault).toBeUndefined();
    } finally {
      await jira.close();
    }
  });

  test('a request that gets no response is a fault with its cause, and still throws', async () => {
    const { tracer, documents } = recordingTracer();
    const failing: typeof fetch = () => Promise.reject(new TypeError('fetch failed'));
    await expect(tracer.fetch(failing)('https://example.atlassian.net/rest/api/3/issue')).rejects.toThrow(
      'fetch failed',
    );
    const [doc] = documents();
    expectValidSubsegment(doc);
    expect(doc).toMatchObject({ fault: true, cause: { exceptions: [{ type: 'TypeError', message: 'fetch failed' }] } });
  });

  test('AWS SDK commands are aws subsegments with operation, region and request id', async () => {
    const aws = await server(200, { Name: 's', SecretString: '{}' }, { 'x-amzn-requestid': 'req-123' });
    try {
      const { tracer, documents } = recordingTracer();
      const client = tracer.instrument(secretsClient(aws.url), 'SecretsManager');
      await client.send(new GetSecretValueCommand({ SecretId: 's' }));
      const [doc] = documents();
      expectValidSubsegment(doc);
      expect(doc).toMatchObject({
        namespace: 'aws',
        name: 'SecretsManager',
        aws: { operation: 'GetSecretValue', region: 'us-east-1', request_id: 'req-123', retries: 0 },
        http: { response: { status: 200 } },
      });
      expect(doc.error ?? doc.fault).toBeUndefined();
    } finally {
      await aws.close();
    }
  });

  test('an AWS error is marked (4xx error) and rethrown unchanged', async () => {
    const aws = await server(400, { __type: 'ResourceNotFoundException', message: 'no such secret' });
    try {
      const { tracer, documents } = recordingTracer();
      const client = tracer.instrument(secretsClient(aws.url), 'SecretsManager');
      await expect(client.send(new GetSecretValueCommand({ SecretId: 's' }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      const [doc] = documents();
      expectValidSubsegment(doc);
      expect(doc).toMatchObject({
        error: true,
        http: { response: { status: 400 } },
        cause: { exceptions: [{ type: 'ResourceNotFoundException' }] },
      });
    } finally {
      await aws.close();
    }
  });

  test('a disabled tracer leaves clients and fetch untouched', () => {
    const { tracer } = recordingTracer(SAMPLED, false);
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    const before = client.middlewareStack.identify().length;
    tracer.instrument(client, 'SecretsManager');
    expect(client.middlewareStack.identify()).toHaveLength(before);
    expect(tracer.fetch(fetch)).toBe(fetch);
  });

  test('the daemon sink sends one UDP datagram per document', async () => {
    const daemon = createSocket('udp4');
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
    const received = new Promise<string>((resolve) => daemon.once('message', (m) => resolve(m.toString())));
    try {
      const tracer = new Tracer({
        enabled: true,
        sink: daemonSink({ host: '127.0.0.1', port: daemon.address().port }),
        traceHeader: () => SAMPLED,
      });
      await tracer.capture(
        'DynamoDB',
        'aws',
        async () => 'ok',
        () => ({ aws: { operation: 'UpdateItem' } }),
      );
      const doc = parseDatagram(await received);
      expectValidSubsegment(doc);
      expect(doc.aws).toEqual({ operation: 'UpdateItem' });
    } finally {
      daemon.close();
    }
  });
});
