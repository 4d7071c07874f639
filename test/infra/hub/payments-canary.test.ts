import { CANARY_MEMORY_MB, canaryScript } from '../../../lib/hub/payments-canary';
import { FULL_FEATURES, ofType, render, synthesize } from '../support';

const { hubTemplate: template } = synthesize(FULL_FEATURES);

test('a canary against the configured health URL, on a schedule, with at least 960 MB (Synthetics minimum)', () => {
  const [[, canary]] = ofType(template, 'AWS::Synthetics::Canary');
  expect(canary).toMatchObject({
    Name: 'canary-payments-dev',
    Schedule: { Expression: 'rate(5 minutes)' },
    RunConfig: { MemoryInMB: CANARY_MEMORY_MB },
    StartCanaryAfterCreation: true,
    ProvisionedResourceCleanup: 'AUTOMATIC',
  });
  expect(CANARY_MEMORY_MB).toBeGreaterThanOrEqual(960);
  expect((canary.Code as { Script: string }).Script).toBe(canaryScript('https://payments.example.com/health'));
  expect(render(canary.ArtifactS3Location)).toMatch(/^s3:\/\/\$\{CanaryArtifacts.*\}\/runs$/);
});

test('its artifact bucket is suffix-named, private, TLS-only, expires objects after a day and is deleted with the stack', () => {
  template.hasResource('AWS::S3::Bucket', {
    Properties: {
      BucketName: 's3-canary-111111111111-dev',
      LifecycleConfiguration: { Rules: [{ ExpirationInDays: 1, Status: 'Enabled' }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
    },
    DeletionPolicy: 'Delete',
  });
});

test('an alarm on its success percent, breaching on missing (a stopped canary), critical by default', () => {
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    AlarmName: 'alarm-canary-payments-health-dev',
    Namespace: 'CloudWatchSynthetics',
    MetricName: 'SuccessPercent',
    Dimensions: [{ Name: 'CanaryName', Value: 'canary-payments-dev' }],
    TreatMissingData: 'breaching',
  });
  const critical = (config: Parameters<typeof synthesize>[0]) => {
    const [, fn] = ofType(synthesize(config).hubTemplate, 'AWS::Lambda::Function').find(
      ([, p]) => p.FunctionName === 'lambda-jira-incident-dev',
    )!;
    const pattern = (fn.Environment as { Variables: Record<string, string> }).Variables.JIRA_TICKET_ALARM_PATTERN;
    return new RegExp(pattern).test('alarm-canary-payments-health-dev');
  };
  expect(critical({ canary: { healthUrl: 'https://payments.example.com/health' } })).toBe(true);
  expect(critical({ canary: { healthUrl: 'https://payments.example.com/health', critical: false } })).toBe(false);
});

test('no canary unless canary.healthUrl is set', () => {
  expect(ofType(synthesize().hubTemplate, 'AWS::Synthetics::Canary')).toEqual([]);
});
