import * as oam from 'aws-cdk-lib/aws-oam';
import { Construct } from 'constructs';
import { SHARED_TELEMETRY_TYPES } from '../metrics';
import { Naming } from '../naming';

export interface TelemetrySinkProps {
  readonly naming: Naming;
  /** Only accounts of this organization may link to the sink. */
  readonly organizationId: string;
}

/**
 * The Observability Access Manager sink that makes member metrics, logs and traces visible in the hub.
 * An account holds one sink per Region (OAM CreateSink API reference), so only the environment that owns the
 * telemetry foundation creates it; others reuse it through `foundation.oamSinkArn`.
 */
export class TelemetrySink extends Construct {
  readonly sinkArn: string;

  constructor(scope: Construct, id: string, props: TelemetrySinkProps) {
    super(scope, id);
    const sink = new oam.CfnSink(this, 'Resource', {
      name: props.naming.name('sink', 'observability'),
      policy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OrganizationAccountsMayLink',
            Effect: 'Allow',
            // Any principal, but only from this organization, and only for the shared telemetry types.
            Principal: '*',
            Action: ['oam:CreateLink', 'oam:UpdateLink'],
            Resource: '*',
            Condition: {
              StringEquals: { 'aws:PrincipalOrgID': props.organizationId },
              'ForAllValues:StringEquals': { 'oam:ResourceTypes': SHARED_TELEMETRY_TYPES },
            },
          },
        ],
      },
    });
    this.sinkArn = sink.attrArn;
  }
}
