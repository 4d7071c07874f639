import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, PCIDSS321Checks } from 'cdk-nag';
import { ObservabilityConfig } from './config';
import { ControlTowerControls } from './control-tower';
import { MonitoringHubStack } from './hub/monitoring-hub-stack';

export interface ObservabilityAppOptions {
  readonly config: ObservabilityConfig;
  /** Run the cdk-nag AwsSolutions and PCI DSS 3.2.1 packs on synth. @default true */
  readonly nag?: boolean;
}

/** Adds the whole product (hub stack with its member StackSet) to an app, from a validated config. */
export function addObservabilityHub(app: App, options: ObservabilityAppOptions): MonitoringHubStack {
  const { config, nag = true } = options;
  const hub = new MonitoringHubStack(app, `MonitoringHub-${config.environmentSuffix}`, { config });
  if (nag) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new PCIDSS321Checks(app), new ControlTowerControls());
  }
  return hub;
}
