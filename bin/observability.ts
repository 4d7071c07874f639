#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { addObservabilityHub } from '../lib/app';
import { ConfigError, EXAMPLE_CONFIG, loadConfig, readConfigFile } from '../lib/config';

// The only place that reads context: `-c environmentSuffix=...` plus the config from
// `-c configFile=path.json`, the `observability` context key (cdk.json), or the embedded example.
function rawConfig(app: App): unknown {
  const configFile = app.node.tryGetContext('configFile');
  if (configFile) return readConfigFile(configFile);
  const fromContext = app.node.tryGetContext('observability');
  if (fromContext) {
    if (typeof fromContext !== 'string') return fromContext;
    try {
      return JSON.parse(fromContext);
    } catch (e) {
      throw new ConfigError(
        `observability (context) is not valid JSON (${(e as Error).message}). Fix: pass a JSON object`,
      );
    }
  }
  process.stderr.write(
    'observability: no configFile or observability context given; using the embedded EXAMPLE config\n',
  );
  return EXAMPLE_CONFIG;
}

// CDK's built-in template validation (a WebAssembly rule engine) costs ~2 s of every synth and only
// warns; CI runs cfn-lint on every template instead, and cdk-nag runs on every synth.
const app = new App({ builtinCloudFormationValidation: false });
try {
  addObservabilityHub(app, { config: loadConfig(rawConfig(app), app.node.tryGetContext('environmentSuffix')) });
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
