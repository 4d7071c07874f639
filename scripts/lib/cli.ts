/**
 * What the operator commands share: flag parsing with errors that name the flag and the fix, exit
 * codes, AWS client settings, and where output goes (injected so tests can read it).
 */
import { parseArgs, type ParseArgsConfig } from 'util';
import { SUFFIX_MAX_LENGTH, SUFFIX_PATTERN } from '../../lib/naming';

/** 0: everything passed; 1: a check or a message failed; 2: the command line (or what it points at) is wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export const DEFAULT_REGION = 'us-east-1';
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;

/** A mistake in how the command was called; printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Output {
  /** Results: tables and summaries (what a script or a ticket would keep). */
  stdout(text: string): void;
  /** Progress and diagnostics, so stdout stays clean when piped. */
  stderr(text: string): void;
}

export const processOutput: Output = {
  stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs, strict, with node's generic messages replaced by ones that name the flag and the fix. */
export function parseFlags<O extends Options>(command: string, argv: readonly string[], options: O) {
  const known = Object.keys(options)
    .map((name) => `--${name}`)
    .join(', ');
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    const e = err as Error & { code?: string };
    const flag = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1];
    switch (e.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        throw new UsageError(`unknown flag ${flag ?? ''}. Fix: use one of ${known} (see ${command} --help)`);
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        if (/does not take an argument/.test(e.message)) {
          throw new UsageError(
            `${flag} is a switch and takes no value. Fix: write just ${flag} (see ${command} --help)`,
          );
        }
        throw new UsageError(`${flag} needs a value. Fix: write ${flag} <value> (see ${command} --help)`);
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
        throw new UsageError(
          `unexpected argument ${JSON.stringify(/'([^']*)'/.exec(e.message)?.[1] ?? '')}: every input is a flag. Fix: see ${command} --help`,
        );
      default:
        throw new UsageError(`${e.message} (see ${command} --help)`);
    }
  }
}

export function checkSuffix(suffix: string): string {
  if (!SUFFIX_PATTERN.test(suffix)) {
    throw new UsageError(
      `--suffix '${suffix}' is not an environment suffix (1-${SUFFIX_MAX_LENGTH} lowercase letters, digits or inner hyphens). Fix: pass the suffix the stack was deployed with, e.g. --suffix dev`,
    );
  }
  return suffix;
}

export function checkRegion(region: string | undefined): string {
  const value = region ?? DEFAULT_REGION;
  if (!REGION.test(value)) {
    throw new UsageError(`--region '${value}' is not an AWS region code. Fix: e.g. --region ${DEFAULT_REGION}`);
  }
  return value;
}

export interface AwsSettings {
  region: string;
  /** A named profile; otherwise the default credential chain (AWS_PROFILE, env, SSO, instance role...). */
  profile?: string;
}

/** Client settings: region and profile only. Endpoints come from the SDK itself (AWS_ENDPOINT_URL[_<SERVICE>]). */
export function awsClientConfig(aws: AwsSettings): { region: string; profile?: string } {
  return aws.profile ? { region: aws.region, profile: aws.profile } : { region: aws.region };
}

/** An AWS SDK error in one line: `Name: message`, without request ids or stacks. */
export function awsErrorText(err: unknown): string {
  const e = err as { name?: string; message?: string };
  const name = e?.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${e?.message ?? String(err)}`.replace(/\s+/g, ' ').trim();
}

/** Runs a command: usage errors (and missing credentials) exit 2 naming the fix, anything unexpected exits 1. */
export async function runCommand(command: string, out: Output, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof UsageError || (err as Error)?.name === 'ConfigError') {
      out.stderr(`${command}: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
    const name = (err as Error)?.name;
    if (name === 'CredentialsProviderError' || /^Expired(Token)?(Exception)?$/.test(name ?? '')) {
      out.stderr(
        `${command}: no usable AWS credentials (${awsErrorText(err)}). Fix: sign in to the hub account, e.g. aws sso login --profile <name>, then pass --profile <name> or set AWS_PROFILE`,
      );
      return EXIT_USAGE;
    }
    out.stderr(`${command}: failed: ${awsErrorText(err)}`);
    return EXIT_FAILED;
  }
}
