import { Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { acknowledgeControl } from './control-tower';

/**
 * cdk-nag acknowledgements shared by several resources. Each is scoped to one construct and one
 * finding; the reason says why the finding does not apply or what mitigates it.
 */
export function acknowledgeLogGroupWithoutCmk(logGroup: IConstruct): void {
  Validations.of(logGroup).acknowledge({
    id: 'PCI.DSS.321-CloudWatchLogGroupEncrypted',
    reason:
      'CloudWatch Logs encrypts every log group at rest with service-managed keys; the customer forbids customer managed KMS keys (SPEC "no customer managed KMS keys anywhere"). Log events carry alarm metadata, never cardholder data.',
  });
  acknowledgeControl(
    logGroup,
    'CT.CLOUDWATCH.PR.2',
    'the customer requires 30-day retention on every log group (SPEC cross-cutting constraints); the EventBridge archive keeps alarm state changes for 365 days.',
  );
  acknowledgeControl(
    logGroup,
    'CT.CLOUDWATCH.PR.3',
    'the customer forbids customer managed KMS keys; CloudWatch Logs encrypts log groups at rest with service-managed keys.',
  );
}

/** A Lambda function of the hub, which has no VPC (Control Tower CT.LAMBDA.PR.3, PCI DSS LambdaInsideVPC). */
export function acknowledgeFunctionOutsideVpc(fn: IConstruct, calls: string): void {
  const reason = `The hub has no VPC: the function only calls ${calls} over TLS, IAM-authenticated, and handles no cardholder data. A VPC would add NAT gateways as a cost and a failure point on the paging path without isolating anything.`;
  Validations.of(fn).acknowledge({ id: 'PCI.DSS.321-LambdaInsideVPC', reason });
  acknowledgeControl(fn, 'CT.LAMBDA.PR.3', reason);
}
