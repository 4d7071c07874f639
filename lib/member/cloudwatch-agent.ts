import { Fn } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { Naming } from '../naming';

export interface CloudWatchAgentProps {
  readonly naming: Naming;
  /** EC2 instances with this tag key and value get the agent. */
  readonly tagKey: string;
  readonly tagValue: string;
}

/**
 * Installs the CloudWatch agent on tagged instances and configures it from an `AmazonCloudWatch-` parameter.
 * Two associations on the same instances would fight over the agent's configuration, so only the environment
 * that owns the telemetry foundation creates this.
 */
export class CloudWatchAgent extends Construct {
  constructor(scope: Construct, id: string, props: CloudWatchAgentProps) {
    super(scope, id);
    const { naming } = props;
    const agentConfig = new ssm.CfnParameter(this, 'CloudWatchAgentConfig', {
      name: naming.cloudWatchAgentParameterName(),
      type: 'String',
      tier: 'Standard',
      description: 'CloudWatch agent configuration for payment hosts (memory, disk, system log)',
      value: JSON.stringify(cloudWatchAgentConfig(naming)),
    });
    const document = new ssm.CfnDocument(this, 'CloudWatchAgentDocument', {
      name: naming.name('ssm', 'cloudwatch-agent'),
      documentType: 'Command',
      updateMethod: 'NewVersion',
      content: {
        schemaVersion: '2.2',
        description: 'Install the CloudWatch agent, then configure it from the SSM parameter',
        mainSteps: [
          {
            action: 'aws:runDocument',
            name: 'installAgent',
            inputs: {
              documentType: 'SSMDocument',
              documentPath: 'AWS-ConfigureAWSPackage',
              documentParameters: { action: 'Install', name: 'AmazonCloudWatchAgent' },
            },
          },
          {
            action: 'aws:runDocument',
            name: 'configureAgent',
            inputs: {
              documentType: 'SSMDocument',
              documentPath: 'AmazonCloudWatch-ManageAgent',
              documentParameters: {
                action: 'configure',
                mode: 'ec2',
                optionalConfigurationSource: 'ssm',
                optionalConfigurationLocation: agentConfig.ref,
                optionalRestart: 'yes',
              },
            },
          },
        ],
      },
    });
    new ssm.CfnAssociation(this, 'CloudWatchAgentAssociation', {
      associationName: naming.name('ssm', 'cloudwatch-agent'),
      name: document.ref,
      targets: [{ key: Fn.join('', ['tag:', props.tagKey]), values: [props.tagValue] }],
      scheduleExpression: 'rate(1 day)',
      complianceSeverity: 'HIGH',
      maxConcurrency: '10%',
      maxErrors: '10%',
    });
  }
}

/** Agent config: host metrics per instance and the system log into a 30-day log group. */
function cloudWatchAgentConfig(naming: Naming) {
  return {
    agent: { metrics_collection_interval: 60 },
    metrics: {
      namespace: 'CWAgent',
      append_dimensions: { InstanceId: '${aws:InstanceId}' },
      metrics_collected: {
        mem: { measurement: ['mem_used_percent'] },
        disk: { measurement: ['used_percent'], resources: ['/'] },
      },
    },
    logs: {
      logs_collected: {
        files: {
          collect_list: [
            {
              file_path: '/var/log/messages',
              log_group_name: naming.logGroupName('observability/ec2', 'messages'),
              log_stream_name: '{instance_id}',
              retention_in_days: 30,
            },
          ],
        },
      },
    },
  };
}
