import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeFunctionOutsideVpc, acknowledgeLogGroupWithoutCmk } from '../compliance';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

export interface HubFunctionProps {
  readonly naming: Naming;
  /** `lambda-<purpose>-<suffix>`, and the same purpose for its role and policy. */
  readonly purpose: string;
  /** Construct ids, in the caller's scope, of the log group, the role and the function (logical ids are a contract). */
  readonly ids: { readonly logs: string; readonly role: string; readonly function: string };
  readonly description: string;
  readonly roleDescription: string;
  readonly entry: string;
  readonly timeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly environment: Record<string, string>;
  /** Every permission beyond writing its own log stream. */
  readonly statements: iam.PolicyStatement[];
  /** What the function calls, for the acknowledgement of running outside a VPC. */
  readonly calls: string;
  /** X-Ray active tracing. @default false */
  readonly tracing?: boolean;
  /** Source maps in the bundle (and `--enable-source-maps`). @default false */
  readonly sourceMap?: boolean;
}

/**
 * A function of the hub as every one of them is built: NodejsFunction bundled by the local esbuild (AWS SDK v3
 * external: the runtime ships it), Node.js 24 on arm64, 128 MB, its own 30-day log group, and a role whose every
 * permission is in one explicit managed policy. The resources are created directly in `scope` under the given ids.
 */
export function hubFunction(scope: Construct, props: HubFunctionProps) {
  const { naming } = props;
  const functionName = naming.name('lambda', props.purpose);
  const logGroup = new logs.LogGroup(scope, props.ids.logs, {
    logGroupName: `/aws/lambda/${functionName}`,
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  acknowledgeLogGroupWithoutCmk(logGroup);
  const role = LeastPrivilegeRole.forService(scope, props.ids.role, {
    naming: naming,
    purpose: props.purpose,
    service: 'lambda.amazonaws.com',
    description: props.roleDescription,
    statements: [
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
      ...props.statements,
    ],
  });
  const fn = new nodejs.NodejsFunction(scope, props.ids.function, {
    functionName,
    role: role.immutableRole,
    description: props.description,
    entry: props.entry,
    handler: 'handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 128,
    timeout: props.timeout,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
    environment: { ...props.environment, ...(props.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}) },
    bundling: {
      minify: true,
      sourceMap: props.sourceMap ?? false,
      externalModules: ['@aws-sdk/*'],
      forceDockerBundling: false,
    },
  });
  acknowledgeFunctionOutsideVpc(fn, props.calls);
  return { function: fn, logGroup, role };
}
