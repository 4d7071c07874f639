/**
 * Request validation against the JIRA Cloud REST API v3 OpenAPI spec in /work/shared/reference
 * (override with JIRA_OPENAPI_SPEC). The spec (2.4 MB) is parsed once per test file (Jest gives each
 * file its own module registry) and each operation's validator is compiled once, on first use.
 *
 * Two layers:
 *  1. the operation's `requestBody` schema and its query parameters, from the spec, with ajv;
 *  2. rules JIRA enforces server-side that the spec's schemas leave open (`fields` is
 *     `additionalProperties: {}`), taken from the spec's operation descriptions and SPEC.md: a
 *     summary of at most 255 characters on one line, labels without whitespace, description and
 *     comment bodies in Atlassian Document Format, a transition id on doTransition.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export const DEFAULT_SPEC_PATH = path.resolve(
  __dirname,
  '../../../../shared/reference/jira-cloud-platform-rest-api-v3.openapi.json',
);

interface OpenApiParameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: { type?: string; items?: { type?: string } };
}
interface OpenApiOperation {
  operationId?: string;
  deprecated?: boolean;
  parameters?: OpenApiParameter[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown }> };
}
interface OpenApiSpec {
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, unknown>;
}

export interface ResolvedOperation {
  /** The spec's path template, e.g. `/rest/api/3/issue/{issueIdOrKey}/comment`. */
  template: string;
  method: string;
  operationId: string;
  deprecated: boolean;
  pathParams: Record<string, string>;
  operation: OpenApiOperation;
}

const SPEC_ID = 'jira-openapi';

let cached: { spec: OpenApiSpec; ajv: Ajv; matchers: { re: RegExp; template: string; names: string[] }[] } | undefined;
const validators = new Map<string, ValidateFunction | null>();

function load() {
  if (cached) return cached;
  const specPath = process.env.JIRA_OPENAPI_SPEC ?? DEFAULT_SPEC_PATH;
  if (!fs.existsSync(specPath)) {
    throw new Error(`JIRA OpenAPI spec not found at ${specPath} (set JIRA_OPENAPI_SPEC to its path)`);
  }
  const spec = JSON.parse(fs.readFileSync(specPath, 'utf8')) as OpenApiSpec;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  // Register the whole components object as one document so that every
  // `$ref: '#/components/schemas/...'` inside the component schemas resolves against it.
  ajv.addSchema({ components: spec.components }, SPEC_ID);
  // Literal segments before templated ones, so `/issue/createmeta` beats `/issue/{issueIdOrKey}`.
  const matchers = Object.keys(spec.paths)
    .map((template) => {
      const names: string[] = [];
      const re = new RegExp(
        '^' +
          template
            .split('/')
            .map((seg) => {
              const m = /^\{(.+)\}$/.exec(seg);
              if (m) {
                names.push(m[1]);
                return '([^/]+)';
              }
              return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
            })
            .join('/') +
          '$',
      );
      return { re, template, names };
    })
    .sort((a, b) => a.names.length - b.names.length);
  cached = { spec, ajv, matchers };
  return cached;
}

/** Finds the spec operation for a concrete request path and method; undefined when the spec has none. */
export function resolveOperation(method: string, urlPath: string): ResolvedOperation | undefined {
  const { spec, matchers } = load();
  const m = method.toLowerCase();
  for (const { re, template, names } of matchers) {
    const match = re.exec(urlPath);
    if (!match) continue;
    const operation = spec.paths[template][m];
    if (!operation) continue;
    const pathParams: Record<string, string> = {};
    names.forEach((n, i) => (pathParams[n] = decodeURIComponent(match[i + 1])));
    return {
      template,
      method: m,
      operationId: operation.operationId ?? `${m} ${template}`,
      deprecated: operation.deprecated === true,
      pathParams,
      operation,
    };
  }
  return undefined;
}

function bodyValidator(op: ResolvedOperation): ValidateFunction | null {
  const key = `${op.method} ${op.template}`;
  if (validators.has(key)) return validators.get(key)!;
  const schema = op.operation.requestBody?.content?.['application/json']?.schema as Record<string, unknown> | undefined;
  let fn: ValidateFunction | null = null;
  if (schema) {
    const { ajv } = load();
    const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined;
    if (ref && ref.startsWith('#/')) {
      fn = ajv.compile({ $ref: `${SPEC_ID}${ref}` });
    } else {
      // Inline schema: point its internal refs at the components document.
      const rewritten = JSON.parse(
        JSON.stringify(schema).replace(/"\$ref":"#\/components\//g, `"$ref":"${SPEC_ID}#/components/`),
      );
      fn = ajv.compile(rewritten);
    }
  }
  validators.set(key, fn);
  return fn;
}

/** Validates a request's JSON body (undefined = no body) and query against the operation. Returns problems. */
export function validateRequest(op: ResolvedOperation, body: unknown, query: URLSearchParams): string[] {
  const problems: string[] = [];
  const rb = op.operation.requestBody;
  if (rb) {
    if (body === undefined) {
      if (rb.required) problems.push(`${op.operationId}: request body is required`);
    } else {
      const fn = bodyValidator(op);
      if (fn && !fn(body)) {
        for (const e of fn.errors ?? []) {
          problems.push(
            `${op.operationId}: body${e.instancePath || ''} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`,
          );
        }
      }
    }
  } else if (body !== undefined) {
    problems.push(`${op.operationId}: the operation takes no request body`);
  }
  for (const p of op.operation.parameters ?? []) {
    if (p.in !== 'query') continue;
    const isArray = p.schema?.type === 'array';
    const values = query.getAll(p.name).flatMap((v) => (isArray ? v.split(',') : [v]));
    if (values.length === 0) {
      if (p.required) problems.push(`${op.operationId}: query parameter '${p.name}' is required`);
      continue;
    }
    const type = isArray ? p.schema?.items?.type : p.schema?.type;
    for (const v of values) {
      if (type === 'integer' && !/^-?\d+$/.test(v))
        problems.push(`${op.operationId}: query '${p.name}' must be an integer`);
      if (type === 'boolean' && v !== 'true' && v !== 'false')
        problems.push(`${op.operationId}: query '${p.name}' must be a boolean`);
    }
  }
  problems.push(...jiraRules(op, body));
  return problems;
}

interface AdfNode {
  type?: unknown;
  text?: unknown;
  content?: unknown;
  version?: unknown;
}

/** Minimal Atlassian Document Format check: a `doc` of version 1 with typed nodes and non-empty text nodes. */
export function adfProblems(doc: unknown, where: string): string[] {
  const problems: string[] = [];
  const d = doc as AdfNode;
  if (!d || typeof d !== 'object' || Array.isArray(d))
    return [`${where} must be an ADF document object, got ${typeof doc}`];
  if (d.type !== 'doc') problems.push(`${where}.type must be 'doc'`);
  if (d.version !== 1) problems.push(`${where}.version must be 1`);
  if (!Array.isArray(d.content)) return [...problems, `${where}.content must be an array`];
  const walk = (node: AdfNode, at: string) => {
    if (!node || typeof node !== 'object' || typeof node.type !== 'string') {
      problems.push(`${at} must be an ADF node with a string 'type'`);
      return;
    }
    if (node.type === 'text' && (typeof node.text !== 'string' || node.text.length === 0)) {
      problems.push(`${at} is a text node with empty or missing 'text' (JIRA rejects it)`);
    }
    if (node.content !== undefined) {
      if (!Array.isArray(node.content)) problems.push(`${at}.content must be an array`);
      else (node.content as AdfNode[]).forEach((c, i) => walk(c, `${at}.content[${i}]`));
    }
  };
  (d.content as AdfNode[]).forEach((c, i) => walk(c, `${where}.content[${i}]`));
  return problems;
}

function jiraRules(op: ResolvedOperation, body: unknown): string[] {
  const b = (body ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  const id = op.operationId;
  if (id === 'createIssue') {
    const fields = (b.fields ?? {}) as Record<string, unknown>;
    const project = fields.project as Record<string, unknown> | undefined;
    if (!project || (typeof project.key !== 'string' && typeof project.id !== 'string'))
      problems.push(`createIssue: fields.project needs a key or id`);
    const issuetype = fields.issuetype as Record<string, unknown> | undefined;
    if (!issuetype || (typeof issuetype.name !== 'string' && typeof issuetype.id !== 'string'))
      problems.push(`createIssue: fields.issuetype needs a name or id`);
    const summary = fields.summary;
    if (typeof summary !== 'string' || summary.trim() === '') problems.push(`createIssue: fields.summary is required`);
    else {
      if (summary.length > 255) problems.push(`createIssue: fields.summary is ${summary.length} > 255 characters`);
      if (/[\r\n]/.test(summary)) problems.push(`createIssue: fields.summary must be one line`);
    }
    if (fields.labels !== undefined) {
      if (!Array.isArray(fields.labels)) problems.push(`createIssue: fields.labels must be an array`);
      else
        for (const l of fields.labels) {
          if (typeof l !== 'string' || l === '' || /\s/.test(l))
            problems.push(`createIssue: label ${JSON.stringify(l)} is empty or contains whitespace`);
          else if (l.length > 255) problems.push(`createIssue: label longer than 255 characters`);
        }
    }
    if (fields.description !== undefined && fields.description !== null)
      problems.push(...adfProblems(fields.description, 'createIssue: fields.description'));
  } else if (id === 'addComment') {
    problems.push(...adfProblems(b.body, 'addComment: body'));
  } else if (id === 'doTransition') {
    const t = b.transition as Record<string, unknown> | undefined;
    if (!t || typeof t.id !== 'string' || t.id === '') problems.push(`doTransition: transition.id is required`);
    if (b.update && typeof b.update === 'object') {
      for (const ops of Object.values(b.update as Record<string, unknown>)) {
        for (const o of Array.isArray(ops) ? ops : []) {
          const add = (o as Record<string, unknown>).add as Record<string, unknown> | undefined;
          if (add && 'body' in add) problems.push(...adfProblems(add.body, 'doTransition: update comment body'));
        }
      }
    }
  } else if (id === 'searchAndReconsileIssuesUsingJqlPost') {
    if (typeof b.jql !== 'string' || b.jql.trim() === '')
      problems.push(`${id}: jql must be a non-empty (bounded) query`);
  }
  return problems;
}

/** Compiles a validator for a components schema (used by the harness self-tests on the fake's responses). */
export function componentValidator(name: string): ValidateFunction {
  const { ajv } = load();
  return ajv.compile({ $ref: `${SPEC_ID}#/components/schemas/${name}` });
}
