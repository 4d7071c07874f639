import * as path from 'path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { buildSync, type BuildOptions } from 'esbuild';
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

/** The runtime of every hub function: the newest Node.js LTS on Lambda. */
export const HUB_FUNCTION_RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * How a hub function is bundled (also what `npm run bench` measures): one minified CommonJS file, AWS SDK v3
 * external (the Lambda Node.js runtimes include it), target the runtime's Node.js version.
 */
export function bundleOptions(entry: string, outdir: string, sourceMap = false): BuildOptions {
  return {
    entryPoints: [entry],
    outfile: path.join(outdir, 'index.js'),
    bundle: true,
    minify: true,
    sourcemap: sourceMap,
    // Stack traces need the mappings, not a copy of every source file (which makes the map 4x larger).
    sourcesContent: false,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    external: ['@aws-sdk/*'],
    logLevel: 'warning',
  };
}

/**
 * The function's code: bundled in-process by the locally installed esbuild through CDK's local bundling hook (no
 * Docker). Not NodejsFunction: it runs esbuild through `npx`, about 0.7 s per function per synth here (measured),
 * a quarter of the app's own synth time. The asset hash is the bundle's, so a change anywhere in its imports, or
 * in a dependency version, deploys new code; the Docker image is never used (local bundling always succeeds).
 */
function bundledCode(entry: string, sourceMap: boolean): lambda.Code {
  return lambda.Code.fromAsset(path.dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs24.x'),
      local: {
        tryBundle(outputDir: string): boolean {
          buildSync(bundleOptions(entry, outputDir, sourceMap));
          return true;
        },
      },
    },
  });
}

/**
 * A function of the hub as every one of them is built: bundled by the local esbuild (bundleOptions), Node.js 24 on
 * arm64, 128 MB, its own 30-day log group, and a role whose every permission is in one explicit managed policy. The
 * resources are created directly in `scope` under the given ids.
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
  const fn = new lambda.Function(scope, props.ids.function, {
    functionName,
    role: role.immutableRole,
    description: props.description,
    code: bundledCode(props.entry, props.sourceMap ?? false),
    handler: 'index.handler',
    runtime: HUB_FUNCTION_RUNTIME,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 128,
    timeout: props.timeout,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
    environment: { ...props.environment, ...(props.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}) },
  });
  acknowledgeFunctionOutsideVpc(fn, props.calls);
  return { function: fn, logGroup, role };
}
