import { Aws } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { alarmStateChangePattern } from '../alarms';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

export interface AlarmForwardingProps {
  readonly naming: Naming;
  /** ARN of the hub event bus (us-east-1); EventBridge delivers to it across regions. */
  readonly hubBusArn: string;
  /**
   * Forward every alarm of the account (the environment that owns the foundation: the account's whole audit
   * trail), or only this environment's own alarms (a test environment beside production).
   */
  readonly allAlarms: boolean;
}

/** Alarm state changes of this account and region go to the hub bus: audit trail and incident pipeline. */
export class AlarmForwarding extends Construct {
  constructor(scope: Construct, id: string, props: AlarmForwardingProps) {
    super(scope, id);
    const { naming } = props;
    // Named per region: IAM names are account-wide and the StackSet may target several regions.
    const forwarder = LeastPrivilegeRole.forService(this, 'AlarmForwarder', {
      naming: naming,
      purpose: `alarm-forwarder-${Aws.REGION}`,
      service: 'events.amazonaws.com',
      description: 'Lets EventBridge put this account alarm state changes on the hub bus',
      statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [props.hubBusArn] })],
    });
    new events.Rule(this, 'ForwardAlarmStateChanges', {
      ruleName: naming.name('rule', 'forward-alarms'),
      description: 'Forwards CloudWatch alarm state changes to the observability hub bus',
      eventPattern: alarmStateChangePattern(props.allAlarms ? undefined : naming.suffix),
      targets: [
        new targets.EventBus(events.EventBus.fromEventBusArn(this, 'HubBus', props.hubBusArn), {
          role: forwarder.immutableRole,
        }),
      ],
    });
  }
}
