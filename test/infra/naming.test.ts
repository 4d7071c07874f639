import { Aws } from 'aws-cdk-lib';
import { Naming } from '../../lib/naming';
import { synthesize } from './support';

test('builds <resource-type>-<purpose>-<suffix> names', () => {
  const naming = new Naming('dev');
  expect(naming.name('sns', 'alerts')).toBe('sns-alerts-dev');
  expect(naming.name('lambda', 'jira-incident')).toBe('lambda-jira-incident-dev');
  expect(naming.name('dashboard', 'observability')).toBe('dashboard-observability-dev');
  expect(naming.logGroupName('aws/events', 'alarm-audit')).toBe('/aws/events/alarm-audit-dev');
  expect(naming.monitoringRoleName('222222222222')).toBe('MonitoringRole-222222222222-dev');
  expect(naming.cloudWatchAgentParameterName()).toMatch(/^AmazonCloudWatch-.*-dev$/);
});

test('refuses a name over its AWS limit, naming the limit and the fix', () => {
  const naming = new Naming('a'.repeat(20));
  expect(() => naming.name('archive', 'alarm-audit-and-more')).toThrow(
    /The archive name 'archive-alarm-audit-and-more-a{20}' is 49 characters, over the AWS limit of 48\. Fix: choose a shorter environmentSuffix \(now 'a{20}'\)/,
  );
  expect(() => naming.name('lambda', 'x'.repeat(40))).toThrow(
    /over the AWS limit of 64\. Fix: choose a shorter environmentSuffix/,
  );
});

test('counts pseudo parameters at their longest value', () => {
  const naming = new Naming('a'.repeat(20));
  // 'MonitoringRole-' (15) + 12 + '-' + 20 = 48 <= 64
  expect(naming.monitoringRoleName(Aws.ACCOUNT_ID)).toContain('MonitoringRole-');
  // 'role-' + 40 + region token (14) + '-' + 20 > 64
  expect(() => naming.name('role', `${'x'.repeat(40)}-${Aws.REGION}`)).toThrow(/over the AWS limit of 64/);
});

test('rejects a malformed suffix', () => {
  expect(() => new Naming('Prod')).toThrow(/environmentSuffix must be 1-20 lowercase letters.*got 'Prod'/);
});

test('every name the app builds fits with the longest allowed suffix', () => {
  // Synthesizing with a 20-character suffix would throw if any name overflowed (see the naming helper).
  expect(() => synthesize({}, { suffix: 'a'.repeat(20) })).not.toThrow();
});
