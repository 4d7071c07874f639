import { Aws, Fn, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  Capability,
  DeploymentType,
  RegionConcurrencyType,
  StackSet,
  StackSetParameter,
  StackSetTarget,
  StackSetTemplate,
} from 'cdk-stacksets';
import { Construct } from 'constructs';
import { MemberAccount, ObservabilityConfig, ownsFoundation, SILENCE_STEP_MINUTES } from '../config';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { MemberAccountStack, MemberParameter } from '../member/member-account-stack';
import { Naming } from '../naming';

/**
 * The member parameters that differ for one account: where its interface endpoints go (only in an environment
 * that owns the foundation), its thresholds, and whether its silence is critical.
 */
export function accountParameterOverrides(config: ObservabilityConfig, account: MemberAccount): StackSetParameter {
  const overrides: Record<string, string> = {};
  if (account.vpc && ownsFoundation(config)) {
    Object.assign(overrides, {
      [MemberParameter.vpcId]: account.vpc.vpcId,
      [MemberParameter.vpcCidr]: account.vpc.cidr,
      [MemberParameter.subnetIds]: account.vpc.subnetIds.join(','),
      [MemberParameter.vpcRegion]: account.vpc.region,
      [MemberParameter.vpcPrivateDns]: String(account.vpc.privateDns),
    });
  }
  const t = account.thresholds ?? {};
  if (t.errorCount !== undefined) overrides[MemberParameter.errorThreshold] = String(t.errorCount);
  if (t.latencyP99Ms !== undefined) overrides[MemberParameter.latencyThresholdMs] = String(t.latencyP99Ms);
  if (t.throttledCalls !== undefined) overrides[MemberParameter.throttledCallsThreshold] = String(t.throttledCalls);
  if (t.silenceMinutes !== undefined) {
    overrides[MemberParameter.silencePeriods] = String(t.silenceMinutes / SILENCE_STEP_MINUTES);
  }
  if (account.silenceIsCritical) overrides[MemberParameter.silenceIsCritical] = 'true';
  return overrides;
}

/**
 * One account inside one OU (service-managed `INTERSECTION`), so that account alone gets its parameter
 * overrides while the rest of the OU gets the defaults. cdk-stacksets has no such target.
 */
class OrganizationalUnitAccountTarget extends StackSetTarget {
  constructor(
    private readonly organizationalUnitId: string,
    private readonly accountId: string,
    private readonly regions: string[],
    private readonly overrides: StackSetParameter,
  ) {
    super();
  }

  _bind(): ReturnType<StackSetTarget['_bind']> {
    return {
      regions: this.regions,
      parameterOverrides: this._renderParameters(this.overrides),
      accountFilterType: 'INTERSECTION' as ReturnType<StackSetTarget['_bind']>['accountFilterType'],
      organizationalUnits: [this.organizationalUnitId],
      accounts: [this.accountId],
    };
  }
}

export interface MemberStackSetProps {
  readonly naming: Naming;
  readonly config: ObservabilityConfig;
  readonly template: MemberAccountStack;
  /** Values the hub passes to every member: where to link (owner only) and where to forward alarm events. */
  readonly oamSinkArn?: string;
  readonly hubEventBusArn: string;
}

/**
 * `stackset-member-observability-<suffix>`: deploys the member template to the configured OUs (service-managed,
 * auto-deployment to accounts that join them) or to the listed accounts (self-managed). The hub account never
 * receives it, even when it sits in a targeted OU (it would link to its own sink and forward its alarms twice).
 */
export class MemberStackSet extends Construct {
  readonly stackSet: StackSet;

  constructor(scope: Construct, id: string, props: MemberStackSetProps) {
    super(scope, id);
    const { config, naming } = props;
    const deployment = config.deployment;
    const declared = new Set(props.template.parameterNames);
    const parameters: Record<string, string> = {
      [MemberParameter.hubEventBusArn]: props.hubEventBusArn,
      [MemberParameter.hubAccountId]: config.hubAccountId,
      [MemberParameter.organizationId]: config.organizationId,
      [MemberParameter.externalId]: config.externalId,
      ...(props.oamSinkArn ? { [MemberParameter.oamSinkArn]: props.oamSinkArn } : {}),
    };
    for (const name of Object.keys(parameters)) {
      if (!declared.has(name)) throw new Error(`Member template declares no parameter ${name}`);
    }

    this.stackSet = new StackSet(this, 'Resource', {
      stackSetName: naming.name('stackset', 'member-observability'),
      description: `Observability hub member resources (${naming.suffix}), managed by the hub stack`,
      template: StackSetTemplate.fromStackSetStack(props.template),
      capabilities: [Capability.NAMED_IAM],
      deploymentType:
        deployment.permissionModel === 'SERVICE_MANAGED'
          ? DeploymentType.serviceManaged({
              autoDeployEnabled: true,
              // An account leaving the OU loses its member stack: nothing is left behind.
              autoDeployRetainStacks: false,
              delegatedAdmin: deployment.delegatedAdmin,
            })
          : DeploymentType.selfManaged({
              adminRole: this.selfManagedAdminRole(naming, config, deployment.executionRoleName),
              executionRoleName: deployment.executionRoleName,
            }),
      operationPreferences: {
        failureTolerancePercentage: 10,
        maxConcurrentPercentage: 25,
        regionConcurrencyType: RegionConcurrencyType.PARALLEL,
      },
      parameters,
    });

    const regions = deployment.regions;
    const overridden = config.memberAccounts
      .map((account) => ({ account, overrides: accountParameterOverrides(config, account) }))
      .filter(({ overrides }) => Object.keys(overrides).length > 0);
    for (const { overrides } of overridden) {
      for (const name of Object.keys(overrides)) {
        if (!declared.has(name)) throw new Error(`Member template declares no parameter ${name}`);
      }
    }
    if (deployment.permissionModel === 'SERVICE_MANAGED') {
      this.stackSet.addTarget(
        StackSetTarget.fromOrganizationalUnits({
          organizationalUnits: deployment.organizationalUnitIds,
          regions,
          excludeAccounts: [config.hubAccountId, ...overridden.map(({ account }) => account.id)],
        }),
      );
      for (const { account, overrides } of overridden) {
        this.stackSet.addTarget(
          new OrganizationalUnitAccountTarget(account.organizationalUnitId as string, account.id, regions, overrides),
        );
      }
    } else {
      const withOverrides = new Set(overridden.map(({ account }) => account.id));
      const plain = config.memberAccounts.filter((account) => !withOverrides.has(account.id));
      if (plain.length > 0) {
        this.stackSet.addTarget(StackSetTarget.fromAccounts({ accounts: plain.map((a) => a.id), regions }));
      }
      for (const { account, overrides } of overridden) {
        this.stackSet.addTarget(
          StackSetTarget.fromAccounts({ accounts: [account.id], regions, parameterOverrides: overrides }),
        );
      }
    }
  }

  /**
   * Self-managed StackSets need an administration role. This one may assume the execution role only in accounts
   * of the organization (cdk-stacksets' default allows every account). `aws:ResourceOrgID` keeps the policy the
   * same size for any number of accounts (a list of role ARNs passes IAM's 6,144-character limit near 80).
   */
  private selfManagedAdminRole(naming: Naming, config: ObservabilityConfig, executionRoleName: string): iam.IRole {
    const admin = LeastPrivilegeRole.forService(this, 'AdminRole', {
      naming: naming,
      purpose: 'stackset-admin',
      service: 'cloudformation.amazonaws.com',
      description: 'CloudFormation StackSets administration role for the member observability StackSet',
      statements: [
        new iam.PolicyStatement({
          sid: 'AssumeExecutionRoleInMembers',
          actions: ['sts:AssumeRole'],
          resources: [Fn.join('', ['arn:', Aws.PARTITION, `:iam::*:role/${executionRoleName}`])],
          conditions: { StringEquals: { 'aws:ResourceOrgID': config.organizationId } },
        }),
      ],
    });
    Validations.of(admin.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/${executionRoleName}]`,
      reason:
        'Any account id, but only the StackSet execution role and only in accounts of this organization (aws:ResourceOrgID): the same size for any number of member accounts.',
    });
    // Immutable: cdk-stacksets would otherwise add sts:AssumeRole on arn:aws:iam::*:role/... without a condition.
    return admin.immutableRole;
  }
}
