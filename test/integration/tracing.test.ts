/**
 * X-Ray through the real handler: with tracing on (POWERTOOLS_TRACE_ENABLED, the daemon address and a sampled
 * trace header, as Lambda sets them for a function with active tracing), one ALARM sends a subsegment for each
 * JIRA request and each DynamoDB, SNS and Secrets Manager call to a local UDP "daemon"; with tracing off, none.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Subsegment } from '../../lambda/jira-incident/tracing';
import { alarmEvent, alarmName } from './support/events';
import { describeWithMoto } from './support/moto';
import { useWorld } from './support/world';

const TRACE_ID = '1-5759e988-bd862e3fe1be46a994272793';
const PARENT_ID = '53995c3f42cd8ad8';

describeWithMoto('incident handler: X-Ray subsegments', () => {
  const w = useWorld();
  let daemon: Socket;
  let received: Subsegment[];

  beforeEach(async () => {
    received = [];
    daemon = createSocket('udp4');
    daemon.on('message', (m) => {
      const text = m.toString();
      received.push(JSON.parse(text.slice(text.indexOf('\n') + 1)) as Subsegment);
    });
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  });
  afterEach(() => daemon.close());

  const traced = (enabled: boolean) =>
    w().configure({
      POWERTOOLS_TRACE_ENABLED: String(enabled),
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
      _X_AMZN_TRACE_ID: `Root=${TRACE_ID};Parent=${PARENT_ID};Sampled=1`,
    });
  const settle = () => new Promise((r) => setTimeout(r, 200));

  test('tracing on: JIRA, DynamoDB, SNS and Secrets Manager calls are subsegments of the invocation', async () => {
    traced(true);
    const out = await w().invoke(alarmEvent({ alarmName: alarmName('critical', 'traced'), state: 'ALARM' }));
    expect(out.error).toBeUndefined();
    await settle();

    expect(new Set(received.map((s) => s.name))).toEqual(
      new Set([new URL(w().jira.url).host, 'DynamoDB', 'SNS', 'SecretsManager']),
    );
    for (const s of received) {
      expect(s).toMatchObject({ type: 'subsegment', trace_id: TRACE_ID, parent_id: PARENT_ID });
      expect(s.end_time).toBeGreaterThanOrEqual(s.start_time);
    }
    const create = received.find((s) => s.namespace === 'remote' && s.http?.request?.method === 'POST');
    expect(create?.http).toEqual({
      request: { method: 'POST', url: `${w().jira.url}/rest/api/3/issue` },
      response: { status: 201 },
    });
    const publish = received.find((s) => s.name === 'SNS');
    expect(publish?.aws).toMatchObject({ operation: 'Publish', region: 'us-east-1' });
    expect(received.filter((s) => s.error || s.fault)).toEqual([]);
  });

  test('tracing off (tracing: false in the config): no subsegment', async () => {
    traced(false);
    const out = await w().invoke(alarmEvent({ alarmName: alarmName('critical', 'untraced'), state: 'ALARM' }));
    expect(out.error).toBeUndefined();
    await settle();
    expect(received).toEqual([]);
  });
});
