/**
 * Per-test AWS resources in moto (unique names) and readers for their observable state:
 * the alert topic with an SQS queue subscribed (to read the published emails), the DLQ (the
 * Lambda on-failure destination), the incident DynamoDB table and the JIRA secret.
 */
import { randomUUID } from 'crypto';
import { SNSClient, CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  SQSClient,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import {
  DynamoDBClient,
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  DescribeTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test', sessionToken: 'test' };

export interface AwsClients {
  sns: SNSClient;
  sqs: SQSClient;
  ddb: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  sm: SecretsManagerClient;
  destroy(): void;
}

export function awsClients(endpoint: string): AwsClients {
  const cfg = { endpoint, region: REGION, credentials, maxAttempts: 1 };
  const ddb = new DynamoDBClient(cfg);
  const c = {
    sns: new SNSClient(cfg),
    sqs: new SQSClient(cfg),
    ddb,
    doc: DynamoDBDocumentClient.from(ddb),
    sm: new SecretsManagerClient(cfg),
  };
  return {
    ...c,
    destroy() {
      c.sns.destroy();
      c.sqs.destroy();
      c.ddb.destroy();
      c.sm.destroy();
    },
  };
}

/** A published email, as read back from the SQS queue subscribed to the alert topic. */
export interface Email {
  subject: string;
  message: string;
  messageAttributes: Record<string, unknown>;
}

export interface DlqRecord {
  version: string;
  timestamp: string;
  requestContext: {
    requestId: string;
    functionArn: string;
    condition: string;
    approximateInvokeCount: number;
  };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: string; functionError: string };
  responsePayload: { errorType: string; errorMessage: string; stackTrace?: string[] };
}

export interface TestResources {
  suffix: string;
  topicArn: string;
  emailQueueUrl: string;
  dlqUrl: string;
  dlqArn: string;
  tableName: string;
  secretArn: string;
  secret: { email: string; apiToken: string };
}

/** Creates the alert topic + subscribed queue, the DLQ, the table (pk String, TTL expiresAt) and the secret. */
export async function createResources(
  c: AwsClients,
  secret = { email: 'ops@example.com', apiToken: 'test-token' },
): Promise<TestResources> {
  const suffix = randomUUID().slice(0, 8);
  const [topic, emailQueue, dlq] = await Promise.all([
    c.sns.send(new CreateTopicCommand({ Name: `sns-alerts-${suffix}` })),
    c.sqs.send(new CreateQueueCommand({ QueueName: `sqs-alert-emails-${suffix}` })),
    c.sqs.send(new CreateQueueCommand({ QueueName: `sqs-jira-incident-dlq-${suffix}` })),
  ]);
  const [emailAttrs, dlqAttrs] = await Promise.all([
    c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: emailQueue.QueueUrl, AttributeNames: ['QueueArn'] })),
    c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] })),
  ]);
  await c.sns.send(
    new SubscribeCommand({ TopicArn: topic.TopicArn, Protocol: 'sqs', Endpoint: emailAttrs.Attributes!.QueueArn }),
  );
  const tableName = `ddb-jira-incidents-${suffix}`;
  await c.ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
  await c.ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    }),
  );
  const s = await c.sm.send(
    new CreateSecretCommand({ Name: `secret-jira-api-${suffix}`, SecretString: JSON.stringify(secret) }),
  );
  return {
    suffix,
    topicArn: topic.TopicArn!,
    emailQueueUrl: emailQueue.QueueUrl!,
    dlqUrl: dlq.QueueUrl!,
    dlqArn: dlqAttrs.Attributes!.QueueArn!,
    tableName,
    secretArn: s.ARN!,
    secret,
  };
}

export async function ttlAttribute(c: AwsClients, tableName: string): Promise<string | undefined> {
  const r = await c.ddb.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  return r.TimeToLiveDescription?.AttributeName;
}

async function drain(c: AwsClients, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const r = await c.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 3600,
      }),
    );
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) return bodies;
    bodies.push(...msgs.map((m) => m.Body ?? ''));
  }
}

/**
 * Reads queues incrementally: each call drains what arrived since the last one and returns
 * everything seen so far (messages stay invisible for an hour, so nothing is read twice).
 */
export class Mailbox {
  private emailsSeen: Email[] = [];
  private dlqSeen: DlqRecord[] = [];
  constructor(
    private readonly c: AwsClients,
    private readonly r: TestResources,
  ) {}

  async emails(): Promise<Email[]> {
    for (const body of await drain(this.c, this.r.emailQueueUrl)) {
      // Raw message delivery is off: the SQS body is the SNS envelope.
      const env = JSON.parse(body) as { Type: string; Subject?: string; Message: string; MessageAttributes?: object };
      this.emailsSeen.push({
        subject: env.Subject ?? '',
        message: env.Message,
        messageAttributes: (env.MessageAttributes ?? {}) as Record<string, unknown>,
      });
    }
    return this.emailsSeen;
  }

  async dlq(): Promise<DlqRecord[]> {
    for (const body of await drain(this.c, this.r.dlqUrl)) this.dlqSeen.push(JSON.parse(body) as DlqRecord);
    return this.dlqSeen;
  }
}

export async function sendToQueue(c: AwsClients, queueUrl: string, body: unknown): Promise<void> {
  await c.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(body) }));
}

export async function tableItems(c: AwsClients, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await c.doc.send(
      new ScanCommand({ TableName: tableName, ExclusiveStartKey: start, ConsistentRead: true }),
    );
    items.push(...((r.Items ?? []) as Record<string, unknown>[]));
    start = r.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
  return items;
}
