import * as oam from 'aws-cdk-lib/aws-oam';
import { CfnCondition } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { SHARED_TELEMETRY_TYPES } from '../metrics';

export interface TelemetryLinkProps {
  /** ARN of the hub's OAM sink. */
  readonly sinkArn: string;
  /** OAM is regional and the sink is in the hub region: the link exists only there. */
  readonly onlyIn: CfnCondition;
}

/**
 * The account's Observability Access Manager link to the hub sink: metrics, log groups and traces. An account
 * links once to a sink, so only the environment that owns the telemetry foundation creates it.
 */
export class TelemetryLink extends Construct {
  readonly link: oam.CfnLink;

  constructor(scope: Construct, id: string, props: TelemetryLinkProps) {
    super(scope, id);
    this.link = new oam.CfnLink(this, 'Resource', {
      sinkIdentifier: props.sinkArn,
      labelTemplate: '$AccountName',
      resourceTypes: SHARED_TELEMETRY_TYPES,
    });
    this.link.cfnOptions.condition = props.onlyIn;
  }
}
