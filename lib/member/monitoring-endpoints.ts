import { Aws, CfnCondition, Fn, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { Naming } from '../naming';

/** The services whose interface endpoints keep monitoring traffic inside the member VPC. */
export const MONITORING_ENDPOINT_SERVICES = ['monitoring', 'logs', 'sns'] as const;

export interface MonitoringEndpointsProps {
  readonly naming: Naming;
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly subnetIds: string[];
  /** The VPC's region: VPC ids are regional, so only the stack instance of that region creates endpoints. */
  readonly vpcRegion: string;
  /** 'true' or 'false': a VPC takes one private-DNS endpoint per service (set false where one exists). */
  readonly privateDns: string;
}

/**
 * Interface endpoints for CloudWatch, CloudWatch Logs and SNS in the account's VPC, when it gives one and only
 * in that VPC's region. Account-wide singletons: only the environment that owns the foundation creates them.
 */
export class MonitoringEndpoints extends Construct {
  constructor(scope: Construct, id: string, props: MonitoringEndpointsProps) {
    super(scope, id);
    const hasVpc = new CfnCondition(this, 'HasVpc', {
      expression: Fn.conditionAnd(
        Fn.conditionNot(Fn.conditionEquals(props.vpcId, '')),
        Fn.conditionEquals(Aws.REGION, props.vpcRegion),
      ),
    });
    const privateDns = new CfnCondition(this, 'PrivateDns', {
      expression: Fn.conditionEquals(props.privateDns, 'true'),
    });
    const securityGroup = new ec2.CfnSecurityGroup(this, 'EndpointSecurityGroup', {
      groupName: props.naming.name('sg', 'monitoring-endpoints'),
      groupDescription: 'HTTPS from the VPC to the monitoring interface endpoints',
      vpcId: props.vpcId,
      securityGroupIngress: [
        {
          ipProtocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          cidrIp: props.vpcCidr,
          description: 'HTTPS from inside the VPC',
        },
      ],
      // Endpoint network interfaces only answer; this rule matches no traffic (as CDK's allowAllOutbound: false).
      securityGroupEgress: [
        {
          ipProtocol: 'icmp',
          fromPort: 252,
          toPort: 86,
          cidrIp: '255.255.255.255/32',
          description: 'Disallow all traffic',
        },
      ],
    });
    securityGroup.cfnOptions.condition = hasVpc;
    // cfn-lint resolves VpcCidr to its '' default, but the group only exists under HasVpc, where the
    // hub always passes the account's CIDR (config requires it with vpcId; AllowedPattern checks it).
    securityGroup.cfnOptions.metadata = { 'cfn-lint': { config: { ignore_checks: ['W1030'] } } };
    // The ingress CIDR is a parameter, so these rules cannot evaluate it; it is the VPC's own CIDR, on 443 only.
    const parameterCidr =
      'Ingress is HTTPS (443) only, from the VPC CIDR given as a parameter (validated pattern); the rule cannot read a parameter value.';
    Validations.of(securityGroup).acknowledge(
      { id: 'AwsSolutions-EC23', reason: parameterCidr },
      { id: 'PCI.DSS.321-EC2RestrictedCommonPorts', reason: parameterCidr },
      { id: 'PCI.DSS.321-EC2RestrictedSSH', reason: parameterCidr },
    );
    for (const service of MONITORING_ENDPOINT_SERVICES) {
      const endpoint = new ec2.CfnVPCEndpoint(this, `Endpoint-${service}`, {
        vpcId: props.vpcId,
        serviceName: `com.amazonaws.${Aws.REGION}.${service}`,
        vpcEndpointType: 'Interface',
        // CloudFormation refuses a second private-DNS endpoint for a service in a VPC (conflicting DNS domain).
        privateDnsEnabled: Fn.conditionIf(privateDns.logicalId, true, false) as unknown as boolean,
        subnetIds: props.subnetIds,
        securityGroupIds: [securityGroup.attrGroupId],
      });
      endpoint.cfnOptions.condition = hasVpc;
    }
  }
}
