import { Aws, Fn, Stack } from 'aws-cdk-lib';
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
import { MemberAccount, ObservabilityConfig } from '../config';
import { MemberAccountStack, MemberParameter } from '../member-account-stack';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

/** The member parameters that differ per account: where its interface endpoints go. */
export function accountParameterOverrides(account: MemberAccount): StackSetParameter | undefined {
  if (!account.vpc) return undefined;
  return {
    [MemberParameter.vpcId]: account.vpc.vpcId,
    [MemberParameter.vpcCidr]: account.vpc.cidr,
    [MemberParameter.subnetIds]: account.vpc.subnetIds.join(','),
  };
}

/**
 * One account inside one OU (service-managed `INTERSECTION`), so that account alone gets its
 * parameter overrides while the rest of the OU gets the defaults. cdk-stacksets has no such target.
 */
class OrganizationalUnitAccountTarget extends StackSetTarget {
  constructor(
    private readonly organizationalUnitId: string,
    private readonly accountId: string,
    private readonly regions: string[],
    private readonly overrides?: StackSetParameter,
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
  /** Values the hub passes to every member: where to link and where to forward alarm events. */
  readonly oamSinkArn: string;
  readonly hubEventBusArn: string;
}

/**
 * `stackset-member-observability-<suffix>`: deploys the member template to the configured OUs
 * (service-managed, auto-deployment to new accounts) or to the listed accounts (self-managed).
 */
export class MemberStackSet extends Construct {
  readonly stackSet: StackSet;

  constructor(scope: Construct, id: string, props: MemberStackSetProps) {
    super(scope, id);
    const { config, naming } = props;
    const deployment = config.deployment;

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
      parameters: {
        [MemberParameter.oamSinkArn]: props.oamSinkArn,
        [MemberParameter.hubEventBusArn]: props.hubEventBusArn,
        [MemberParameter.hubAccountId]: config.hubAccountId,
        [MemberParameter.organizationId]: config.organizationId,
        [MemberParameter.externalId]: config.externalId,
      },
    });

    const regions = deployment.regions;
    if (deployment.permissionModel === 'SERVICE_MANAGED') {
      const overridden = config.memberAccounts.filter((account) => account.vpc);
      this.stackSet.addTarget(
        StackSetTarget.fromOrganizationalUnits({
          organizationalUnits: deployment.organizationalUnitIds,
          regions,
          ...(overridden.length > 0 ? { excludeAccounts: overridden.map((account) => account.id) } : {}),
        }),
      );
      for (const account of overridden) {
        this.stackSet.addTarget(
          new OrganizationalUnitAccountTarget(
            account.organizationalUnitId as string,
            account.id,
            regions,
            accountParameterOverrides(account),
          ),
        );
      }
    } else {
      for (const account of config.memberAccounts) {
        this.stackSet.addTarget(
          StackSetTarget.fromAccounts({
            accounts: [account.id],
            regions,
            parameterOverrides: accountParameterOverrides(account),
          }),
        );
      }
    }
  }

  /**
   * Self-managed StackSets need an administration role; this one may assume the execution role only
   * in the listed member accounts (cdk-stacksets' default allows every account).
   */
  private selfManagedAdminRole(naming: Naming, config: ObservabilityConfig, executionRoleName: string): iam.IRole {
    const admin = new LeastPrivilegeRole(this, 'AdminRole', {
      roleName: naming.name('role', 'stackset-admin'),
      policyName: naming.name('policy', 'stackset-admin'),
      description: 'CloudFormation StackSets administration role for the member observability StackSet',
      assumedBy: new iam.ServicePrincipal('cloudformation.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
      }),
      statements: [
        new iam.PolicyStatement({
          sid: 'AssumeExecutionRoleInMembers',
          actions: ['sts:AssumeRole'],
          resources: config.memberAccounts.map((account) =>
            Fn.join('', ['arn:', Aws.PARTITION, `:iam::${account.id}:role/${executionRoleName}`]),
          ),
        }),
      ],
    });
    // Immutable: cdk-stacksets would otherwise add sts:AssumeRole on arn:aws:iam::*:role/... to it.
    return admin.immutableRole;
  }
}
