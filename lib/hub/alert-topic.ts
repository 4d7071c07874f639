import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { Naming } from '../naming';

/** The AWS managed key for SNS: no customer managed keys anywhere (customer requirement). */
export const SNS_MANAGED_KEY_ALIAS = 'alias/aws/sns';
/** Message attribute `kind` of the handler's heartbeat publish: it proves the topic works and pages nobody. */
export const HEARTBEAT_MESSAGE_KIND = 'heartbeat';

export interface AlertTopicProps {
  readonly naming: Naming;
  /** Every address gets every handled alarm state change. */
  readonly emails: string[];
}

/**
 * The email alert topic. Encrypted with `alias/aws/sns`, whose key policy admits only principals of
 * this account calling through SNS: CloudWatch alarm actions and EventBridge targets cannot publish
 * to it. Only the incident handler publishes here (it is granted in the stack).
 */
export class AlertTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Resource', {
      topicName: props.naming.name('sns', 'alerts'),
      displayName: `Observability alerts (${props.naming.suffix})`,
      enforceSSL: true,
    });
    // The alias itself (not its ARN), as AWS documents the AWS managed key for SNS.
    (this.topic.node.defaultChild as sns.CfnTopic).kmsMasterKeyId = SNS_MANAGED_KEY_ALIAS;
    for (const email of props.emails) {
      this.topic.addSubscription(
        new subscriptions.EmailSubscription(email, {
          // Every message except heartbeats; a message without the attribute is delivered ("exists": false).
          filterPolicy: {
            kind: new sns.SubscriptionFilter([{ 'anything-but': [HEARTBEAT_MESSAGE_KIND] }, { exists: false }]),
          },
        }),
      );
    }
  }
}
