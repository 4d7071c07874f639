/**
 * Large organizations, by synthesis: 200 member accounts in both permission models, and 1,000. Every template
 * stays under CloudFormation's 1 MB and 500 resources, every IAM policy under 6,144 characters, every dashboard
 * inside CloudWatch's limits, and the main page does not grow (test/infra/hub/observability-dashboard.test.ts).
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig } from '../../lib/config';
import { generatedMembers, LIMITS, measureScale } from '../../scripts/lib/scale';
import { FULL_FEATURES, TEST_APP_PROPS } from './support';

describe.each([
  [200, 'service-managed', {}],
  [200, 'self-managed', { deployment: { permissionModel: 'SELF_MANAGED' as const } }],
  [1000, 'service-managed', {}],
])('%i accounts, %s', (accounts, _model, overrides) => {
  const report = measureScale(accounts, overrides);

  test('every template under 1 MB and 500 resources', () => {
    expect(report.templates.length).toBeGreaterThanOrEqual(3);
    for (const t of report.templates) {
      expect([t.name, t.bytes < LIMITS.templateBytes, t.resources <= LIMITS.resourcesPerTemplate]).toEqual([
        t.name,
        true,
        true,
      ]);
    }
  });

  test('every IAM policy under its size limit', () => {
    expect(report.largestPolicyChars).toBeLessThan(LIMITS.managedPolicyChars);
  });

  test('every dashboard inside CloudWatch limits', () => {
    for (const d of report.dashboards) {
      expect([d.name, d.widgets <= LIMITS.dashboardWidgets, d.metrics <= LIMITS.dashboardMetrics]).toEqual([
        d.name,
        true,
        true,
      ]);
    }
  });

  test('the hub template does not grow with the organization (alarms live in the members)', () => {
    const hub = report.templates[0];
    expect(hub.bytes).toBeLessThan(200_000);
    expect(report.alarms.hubMetric).toBeLessThan(20);
  });
});

/** Lambda allows 4 KB of environment variables in all; references render as ARNs of at most this length. */
test.each([3, 1000])(
  "the handler's environment fits Lambda's 4 KB with %i accounts and every feature on",
  (accounts) => {
    const app = new App(TEST_APP_PROPS);
    const members = accounts === 3 ? FULL_FEATURES.memberAccounts : generatedMembers(accounts);
    const config = loadConfig({ ...EXAMPLE_CONFIG, ...FULL_FEATURES, memberAccounts: members }, 'abcdefghijklmnopqrst');
    const template = Template.fromStack(addObservabilityHub(app, { config, nag: false }));
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const variables = (fn.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
      const size = Object.entries(variables).reduce(
        (n, [k, v]) => n + k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 256),
        0,
      );
      expect([fn.Properties.FunctionName, size < 4096]).toEqual([fn.Properties.FunctionName, true]);
    }
  },
);
