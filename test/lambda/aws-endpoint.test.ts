/**
 * The handler's real SDK clients (no aws-sdk-client-mock here) must send every AWS call to AWS_ENDPOINT_URL,
 * which is how the integration suite points them at a local emulator. A loopback HTTP server plays the
 * three services just enough for one ALARM to complete.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler, resetForTests } from '../../lambda/jira-incident/index';
import { FakeJira } from './helpers/fake-jira';
import { BASE_ENV, EXPECTED_AUTH, FakeClock, SECRET, fixture, lambdaContext } from './helpers/harness';

interface Seen {
  host: string;
  service: string;
  operation: string;
}

const ENV = {
  ...BASE_ENV,
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_ENDPOINT_URL: '',
};

let server: Server;
let seen: Seen[];
let saved: Record<string, string | undefined>;
let spies: jest.SpyInstance[];

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  seen = [];
  server = createServer(async (req, res) => {
    const text = await body(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const host = String(req.headers.host);
    if (target.startsWith('DynamoDB_20120810.')) {
      seen.push({ host, service: 'dynamodb', operation: target.split('.')[1] });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}');
    } else if (target.startsWith('secretsmanager.')) {
      seen.push({ host, service: 'secretsmanager', operation: target.split('.')[1] });
      res
        .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
        .end(JSON.stringify({ SecretString: JSON.stringify(SECRET) }));
    } else if (new URLSearchParams(text).get('Action') === 'Publish') {
      seen.push({ host, service: 'sns', operation: 'Publish' });
      res
        .writeHead(200, { 'content-type': 'text/xml' })
        .end(
          '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult>' +
            '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
        );
    } else {
      seen.push({ host, service: 'unknown', operation: target || text.slice(0, 50) });
      res.writeHead(400).end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ENV.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, ENV);
  const jira = new FakeJira(BASE_ENV.JIRA_BASE_URL, EXPECTED_AUTH);
  spies = [
    jest.spyOn(globalThis, 'fetch').mockImplementation(jira.fetch),
    jest.spyOn(process.stdout, 'write').mockReturnValue(true),
    jest.spyOn(process.stderr, 'write').mockReturnValue(true),
  ];
  resetForTests({ clock: new FakeClock() });
});

afterEach(() => {
  for (const s of spies) s.mockRestore();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetForTests();
});

test('DynamoDB, Secrets Manager and SNS calls all go to AWS_ENDPOINT_URL', async () => {
  const result = await handler(fixture('eventbridge-alarm-state-change-single-metric.awsdocs.json'), lambdaContext());

  expect(result).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
  const host = new URL(ENV.AWS_ENDPOINT_URL).host;
  expect(seen.every((s) => s.host === host)).toBe(true);
  expect(seen.map((s) => `${s.service}:${s.operation}`)).toEqual(
    expect.arrayContaining(['dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'sns:Publish']),
  );
  expect(seen.filter((s) => s.service === 'unknown')).toEqual([]);
});
