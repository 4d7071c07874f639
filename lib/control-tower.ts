import * as fs from 'fs';
import * as path from 'path';
import {
  IPolicyValidationContextBeta1,
  IPolicyValidationPluginBeta1,
  PolicyValidationPluginReportBeta1,
  Validations,
} from 'aws-cdk-lib';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { IConstruct } from 'constructs';

/**
 * The AWS Control Tower proactive controls (the CloudFormation Guard rules bundled with
 * @cdklabs/cdk-validator-cfnguard, the same rules Control Tower's CloudFormation hooks enforce) over EVERY
 * template the app writes. The plugin alone reads only the top-level stack templates; the nested dashboard
 * stacks and the member StackSet template sit beside them in the cloud assembly, so they are added here. A
 * violation fails synth unless the resource acknowledges the control with a reason, like a cdk-nag finding.
 */
export class ControlTowerControls implements IPolicyValidationPluginBeta1 {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor() {
    const all = new CfnGuardValidator({ controlTowerRulesEnabled: true });
    this.name = all.name;
    this.version = all.version;
    this.ruleIds = all.ruleIds;
  }

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const templatePaths = allTemplates(context.templatePaths);
    // cfn-guard spends most of its time loading the ~300 rule files; a rule only checks the resource types it
    // names, so only the files for types these templates contain are loaded (same findings, 4x faster synth).
    const types = resourceTypes(templatePaths);
    const rules = controlTowerRuleFiles()
      .filter((rule) => rule.types.some((t) => types.has(t)))
      .map((rule) => rule.file);
    const guard = new CfnGuardValidator({ controlTowerRulesEnabled: false, rules });
    return guard.validate({ ...context, templatePaths });
  }
}

/** The bundled Control Tower Guard rule files and the resource types each one checks. */
export function controlTowerRuleFiles(): { file: string; types: string[] }[] {
  const root = path.join(
    path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')),
    'rules',
    'control-tower',
    'cfn-guard',
  );
  return fs.readdirSync(root).flatMap((service) =>
    fs
      .readdirSync(path.join(root, service))
      .filter((f) => f.endsWith('.guard'))
      .map((f) => {
        const file = path.join(root, service, f);
        const types = [...fs.readFileSync(file, 'utf8').matchAll(/["'](AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)["']/g)].map(
          (m) => m[1],
        );
        return { file, types: [...new Set(types)] };
      }),
  );
}

function resourceTypes(templatePaths: string[]): Set<string> {
  const types = new Set<string>();
  for (const file of templatePaths) {
    const template = JSON.parse(fs.readFileSync(file, 'utf8')) as { Resources?: Record<string, { Type: string }> };
    for (const resource of Object.values(template.Resources ?? {})) types.add(resource.Type);
  }
  return types;
}

/** The given templates and every nested or StackSet template in the same cloud assembly directories. */
export function allTemplates(templatePaths: string[]): string[] {
  const directories = [...new Set(templatePaths.map((p) => path.dirname(p)))];
  const extra = directories.flatMap((dir) =>
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.nested.template.json') || f.endsWith('.stackset.template.json'))
      .map((f) => path.join(dir, f)),
  );
  return [...new Set([...templatePaths, ...extra])];
}

/** The Control Tower control ids and the Guard rule names that implement them (acknowledgement ids). */
export const CONTROL_RULES = {
  'CT.CLOUDWATCH.PR.1': 'cloudwatch_alarm_action_check',
  'CT.CLOUDWATCH.PR.2': 'cloudwatch_log_group_retention_period_check',
  'CT.CLOUDWATCH.PR.3': 'cloudwatch_log_group_encrypted_check',
  'CT.LAMBDA.PR.3': 'lambda_inside_vpc_check',
  'CT.S3.PR.2': 's3_bucket_logging_enabled_check',
  'CT.S3.PR.4': 's3_event_notifications_enabled_check',
  'CT.S3.PR.9': 's3_bucket_object_lock_enabled_check',
} as const;

export type ControlId = keyof typeof CONTROL_RULES;

/**
 * Acknowledges a Control Tower control on one resource, with the customer constraint it conflicts with. An
 * organization that enforces the control must exempt this resource (README, Control Tower controls).
 */
export function acknowledgeControl(construct: IConstruct, control: ControlId, reason: string): void {
  Validations.of(construct).acknowledge({
    id: `cdk-validator-cfnguard::${CONTROL_RULES[control]}`,
    reason: `${control}: ${reason}`,
  });
}
