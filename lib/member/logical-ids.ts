import { createHash } from 'crypto';

/**
 * Logical ids of the member template as 0.1 deployed them, when its resources sat directly in the stack.
 *
 * Every member resource is named or an account-wide singleton (an account links once to a sink; a VPC takes
 * one private-DNS endpoint per service). A new logical id makes CloudFormation create the replacement before
 * deleting the old resource, which fails for all of them. So the capability constructs are transparent to
 * logical ids: a resource's id is computed from its path without the capability construct, with CDK's own
 * algorithm (aws-cdk-lib core `makeUniqueId`, reproduced here; a test pins the 0.1 ids).
 */
export function legacyLogicalId(pathComponents: string[]): string {
  const [capability, ...rest] = pathComponents;
  if (capability === 'TelemetryLink' && rest.join('/') === 'Resource') return 'OamLink';
  return makeUniqueId(TRANSPARENT_CONSTRUCTS.has(capability) && rest.length > 0 ? rest : pathComponents);
}

/** The member capability constructs whose children keep their stack-level logical ids. */
const TRANSPARENT_CONSTRUCTS = new Set([
  'ApplicationLogMetrics',
  'AccountAlarms',
  'AlarmForwarding',
  'MonitoringEndpoints',
  'CloudWatchAgent',
]);

function makeUniqueId(components: string[]): string {
  const parts = components.filter((c) => c !== 'Default');
  if (parts.length === 1) {
    const candidate = alphanumeric(parts[0]);
    if (candidate.length <= 255) return candidate;
  }
  const hash = createHash('md5').update(parts.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const part of parts) if (human.length === 0 || !human[human.length - 1].endsWith(part)) human.push(part);
  return (
    human
      .filter((c) => c !== 'Resource')
      .map(alphanumeric)
      .join('')
      .slice(0, 240) + hash
  );
}

const alphanumeric = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');
