import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as synthetics from 'aws-cdk-lib/aws-synthetics';
import { Construct } from 'constructs';
import { alarmName, HUB_ALARMS } from '../alarms';
import { acknowledgeControl } from '../control-tower';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

/** Synthetics runs canaries with at least 960 MB: a Synthetics limit outside the 128 MB rule for our own functions. */
export const CANARY_MEMORY_MB = 960;
export const CANARY_RUNTIME = 'syn-nodejs-puppeteer-13.0';

export interface PaymentsCanaryProps {
  readonly naming: Naming;
  readonly healthUrl: string;
  readonly intervalMinutes: number;
}

/** The canary script: one HTTPS GET of the health URL, which must answer 2xx. */
export function canaryScript(healthUrl: string): string {
  return [
    "const synthetics = require('Synthetics');",
    'exports.handler = async () => {',
    `  const url = new URL(${JSON.stringify(healthUrl)});`,
    '  await synthetics.executeHttpStep("payments-health", {',
    "    hostname: url.hostname, method: 'GET', path: url.pathname + url.search, port: url.port || 443,",
    "    protocol: 'https:', headers: { 'User-Agent': synthetics.getCanaryUserAgentString() },",
    '  }, async (res) => {',
    '    if (res.statusCode < 200 || res.statusCode > 299) throw new Error(`health answered ${res.statusCode}`);',
    '  });',
    '};',
  ].join('\n');
}

/**
 * A CloudWatch Synthetics canary against the payments health URL, on a schedule, and an alarm on its success
 * percent. Missing data is breaching: a canary that stopped running is as bad as one that fails.
 *
 * What `cdk destroy` cannot remove, and why (README, Teardown): the canary's artifact objects (the bucket
 * expires them after one day, but CloudFormation refuses to delete a non-empty bucket, so empty it first), and
 * the log group `/aws/lambda/cwsyn-...` that Synthetics creates at the first run outside the template (its name
 * carries the canary's generated id, so the template cannot own it). The canary's Lambda function and layers are
 * deleted with it (`ProvisionedResourceCleanup: AUTOMATIC`).
 */
export class PaymentsCanary extends Construct {
  readonly alarm: cloudwatch.Alarm;
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PaymentsCanaryProps) {
    super(scope, id);
    const { naming } = props;
    const account = Stack.of(this).account;
    const canaryName = naming.name('canary', 'payments');
    this.bucket = new s3.Bucket(this, 'Artifacts', {
      // Bucket names are global: the account id keeps environments of different organizations apart.
      bucketName: naming.name('s3', `canary-${account}`),
      // SSE-KMS with the AWS managed key aws/s3 (Control Tower CT.S3.PR.10), not a customer managed key.
      encryption: s3.BucketEncryption.KMS_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [{ expiration: Duration.days(1), noncurrentVersionExpiration: Duration.days(1) }],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge(
      {
        id: 'AwsSolutions-S1',
        reason:
          'Holds only canary screenshots and HAR files for one day; access logs of it would need another bucket that outlives it.',
      },
      {
        id: 'PCI.DSS.321-S3BucketLoggingEnabled',
        reason: 'Canary artifacts of one day, no cardholder data; server access logging would need a second bucket.',
      },
      {
        id: 'PCI.DSS.321-S3BucketReplicationEnabled',
        reason: 'Disposable canary artifacts expire after one day; replicating them protects nothing.',
      },
    );
    acknowledgeControl(
      this.bucket,
      'CT.S3.PR.2',
      'server access logging would need a second bucket that outlives this one, for artifacts that expire after a day.',
    );
    acknowledgeControl(
      this.bucket,
      'CT.S3.PR.4',
      'canary artifacts of one day have no consumer for event notifications; nothing reads them but the Synthetics console.',
    );
    acknowledgeControl(
      this.bucket,
      'CT.S3.PR.9',
      'Object Lock would make the bucket impossible to empty and delete; the customer requires cdk destroy to remove everything.',
    );
    const role = LeastPrivilegeRole.forService(this, 'Role', {
      naming: naming,
      purpose: 'canary',
      service: 'lambda.amazonaws.com',
      description: 'Execution role of the payments health canary',
      statements: [
        new iam.PolicyStatement({
          sid: 'Artifacts',
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects('*')],
        }),
        new iam.PolicyStatement({
          sid: 'ArtifactBucket',
          actions: ['s3:GetBucketLocation'],
          resources: [this.bucket.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: 'ListBuckets',
          actions: ['s3:ListAllMyBuckets'],
          resources: ['*'],
        }),
        new iam.PolicyStatement({
          sid: 'CanaryLogs',
          actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
          resources: [
            Stack.of(this).formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '/aws/lambda/cwsyn-*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          ],
        }),
        new iam.PolicyStatement({
          sid: 'CanaryMetrics',
          actions: ['cloudwatch:PutMetricData'],
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': 'CloudWatchSynthetics' } },
        }),
      ],
    });
    Validations.of(role.policy).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          's3:ListAllMyBuckets (Synthetics checks its artifact location) and cloudwatch:PutMetricData (scoped by the cloudwatch:namespace condition) support no resource-level permissions.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`,
        reason: 'The canary writes objects with generated names into its own artifact bucket only.',
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:us-east-1:${account}:log-group:/aws/lambda/cwsyn-*]`,
        reason:
          'Synthetics creates the canary function and its log group with a generated id (cwsyn-<name>-<id>); the grant is limited to canary log groups.',
      },
    );
    const canary = new synthetics.CfnCanary(this, 'Canary', {
      name: canaryName,
      runtimeVersion: CANARY_RUNTIME,
      executionRoleArn: role.role.roleArn,
      artifactS3Location: `s3://${this.bucket.bucketName}/runs`,
      code: { handler: 'index.handler', script: canaryScript(props.healthUrl) },
      schedule: { expression: `rate(${props.intervalMinutes} minute${props.intervalMinutes === 1 ? '' : 's'})` },
      runConfig: { timeoutInSeconds: 60, memoryInMb: CANARY_MEMORY_MB, activeTracing: false },
      startCanaryAfterCreation: true,
      successRetentionPeriod: 7,
      failureRetentionPeriod: 30,
      provisionedResourceCleanup: 'AUTOMATIC',
    });
    canary.node.addDependency(role);
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: alarmName(naming, HUB_ALARMS.canary),
      alarmDescription: `The payments health check ${props.healthUrl} failed in 2 of the last 3 runs, or the canary stopped running`,
      metric: new cloudwatch.Metric({
        namespace: 'CloudWatchSynthetics',
        metricName: 'SuccessPercent',
        dimensionsMap: { CanaryName: canaryName },
        statistic: 'Average',
        period: Duration.minutes(props.intervalMinutes),
      }),
      threshold: 100,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
}
