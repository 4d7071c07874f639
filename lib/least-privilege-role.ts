import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { Naming } from './naming';

export interface LeastPrivilegeRoleProps {
  readonly roleName: string;
  /** Name of the customer managed policy that holds every permission of the role. */
  readonly policyName: string;
  readonly description: string;
  /** Who may assume the role; give it conditions (source account, organization, external id). */
  readonly assumedBy: iam.IPrincipal;
  readonly statements: iam.PolicyStatement[];
}

/**
 * A role whose permissions all live in one customer managed policy, written out explicitly.
 * `grant*()` calls and CDK integrations cannot widen it: they see an immutable role, so every
 * permission the role has is the list given here (PCI DSS: no inline policies, least privilege).
 */
export class LeastPrivilegeRole extends Construct {
  readonly role: iam.Role;
  readonly policy: iam.ManagedPolicy;
  /** Pass this to constructs that would otherwise add statements to the role's inline default policy. */
  readonly immutableRole: iam.IRole;

  constructor(scope: Construct, id: string, props: LeastPrivilegeRoleProps) {
    super(scope, id);
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: props.policyName,
      description: `Permissions of ${props.roleName}`,
      statements: props.statements,
    });
    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: props.description,
      assumedBy: props.assumedBy,
      managedPolicies: [this.policy],
    });
    this.immutableRole = this.role.withoutPolicyUpdates();
  }

  /**
   * The role an AWS service (`scheduler.amazonaws.com`, `events.amazonaws.com`, ...) assumes to act for this stack:
   * named `role-<purpose>-<suffix>` with the policy `policy-<purpose>-<suffix>`, and trusted only for requests made
   * on behalf of this account (`aws:SourceAccount`, the confused-deputy guard of the IAM user guide).
   */
  static forService(scope: Construct, id: string, props: ServiceRoleProps): LeastPrivilegeRole {
    return new LeastPrivilegeRole(scope, id, {
      roleName: props.naming.name('role', props.purpose),
      policyName: props.naming.name('policy', props.purpose),
      description: props.description,
      assumedBy: new iam.ServicePrincipal(props.service).withConditions({
        StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
      }),
      statements: props.statements,
    });
  }
}

export interface ServiceRoleProps {
  readonly naming: Naming;
  /** The role's purpose in its name: `role-<purpose>-<suffix>`. */
  readonly purpose: string;
  /** The service principal that assumes the role. */
  readonly service: string;
  readonly description: string;
  readonly statements: iam.PolicyStatement[];
}
