import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock } from './clock';
import { SecretError } from './errors';

export interface JiraCredentials {
  readonly email: string;
  readonly apiToken: string;
}

/** How long a fetched secret is reused across warm invocations (rotation is picked up after this, or after a 401). */
export const SECRET_MAX_AGE_MS = 5 * 60_000;

/**
 * Reads `{"email","apiToken"}` from Secrets Manager once and caches it. Errors name the secret and the
 * missing field, never the secret's content.
 */
export class CredentialsCache {
  private cached?: { value: JiraCredentials; fetchedAt: number };
  private inflight?: Promise<JiraCredentials>;

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretArn: string,
    private readonly clock: Clock,
  ) {}

  async get(): Promise<JiraCredentials> {
    if (this.cached && this.clock.now() - this.cached.fetchedAt < SECRET_MAX_AGE_MS) return this.cached.value;
    this.inflight ??= this.fetch().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /** Forget the cached value (JIRA answered 401: the token may have been rotated). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async fetch(): Promise<JiraCredentials> {
    let raw: string | undefined;
    try {
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretArn }));
      raw = out.SecretString;
    } catch (err) {
      throw new SecretError(
        `Could not read JIRA secret ${this.secretArn}: ${(err as Error).name}: ${(err as Error).message}`,
      );
    }
    const value = parseCredentials(raw, this.secretArn);
    this.cached = { value, fetchedAt: this.clock.now() };
    return value;
  }
}

export function parseCredentials(raw: string | undefined, secretArn: string): JiraCredentials {
  const expected = 'expected JSON {"email": "...", "apiToken": "..."}';
  if (!raw) throw new SecretError(`JIRA secret ${secretArn} has no SecretString; ${expected}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new SecretError(`JIRA secret ${secretArn} is not valid JSON; ${expected}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SecretError(`JIRA secret ${secretArn} is not a JSON object; ${expected}`);
  }
  const record = parsed as Record<string, unknown>;
  for (const field of ['email', 'apiToken'] as const) {
    const v = record[field];
    if (typeof v !== 'string' || v.trim() === '') {
      throw new SecretError(`JIRA secret ${secretArn} has no non-empty string field "${field}"; ${expected}`);
    }
  }
  return { email: (record.email as string).trim(), apiToken: (record.apiToken as string).trim() };
}
