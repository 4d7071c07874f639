/**
 * The one validator of requests to JIRA Cloud REST API v3, shared by the unit tests' in-process fake
 * JIRA (test/lambda/helpers/fake-jira.ts) and the integration suite's HTTP JIRA server
 * (test/integration/support/jira-server.ts), so that every rule lives here.
 *
 * Two sources of the spec, the same rules on both:
 *  - `JiraOpenApi.subset()`: jira-openapi-subset.json beside this file, the operations the handler sends
 *    a request body to (createIssue, addComment, doTransition, editIssue, searchAndReconsileIssuesUsingJqlPost) and
 *    the heartbeat's reads (getCurrentUser, getProject): their operationId, deprecated flag, parameters and
 *    requestBody, and the closure of their schemas. It is
 *    committed, so the unit tests run in a clone without ../shared. test/lambda/jira-openapi.test.ts
 *    checks it is equal to the full spec for those operations whenever the full spec is present (CI
 *    always has it), so validating against it is validating against the full spec.
 *  - `JiraOpenApi.full()`: the full spec (2.4 MB) in ../shared/reference beside the checkout (override
 *    with JIRA_OPENAPI_SPEC), which the integration server needs: it also routes operations without a
 *    body (getIssue, getTransitions, GET search/jql, the deprecated search), recognises every other real
 *    operation, and its self-tests validate responses against the spec's component schemas. Parsed once
 *    per test file (Jest gives each file its own module registry).
 * Each operation's validator is compiled once, on first use.
 *
 * The checks (a request passes when `validateRequest` returns no problems):
 *  1. `spec:` the operation's `requestBody` schema with ajv, where request bodies may not carry the
 *     schemas' readOnly properties; a body where the operation requires one and none where it takes
 *     none; its query parameters (required, integer, boolean).
 *  2. `ADF`: descriptions and comment bodies (`fields.description`, `body`, `update.*[].add.body`) are
 *     Atlassian Document Format, made only of the nodes and marks the handler may emit.
 *  3. rules JIRA enforces server-side that the spec's schemas leave open (`fields` is
 *     `additionalProperties: {}`), taken from the spec's operation descriptions and SPEC.md: project and
 *     issue type on createIssue, a summary of at most 255 characters on one line, labels without
 *     whitespace, a comment body on addComment, a transition id on doTransition, a non-empty JQL.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import subset from './jira-openapi-subset.json';

/** Where CI (and this workspace) keeps the full spec: ../shared/reference beside the checkout. */
export const FULL_SPEC_PATH =
  process.env.JIRA_OPENAPI_SPEC ??
  path.resolve(__dirname, '../../../shared/reference/jira-cloud-platform-rest-api-v3.openapi.json');

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
  requestBody?: { required?: boolean; content?: Record<string, { schema?: unknown; example?: unknown }> };
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

type Json = unknown;

/** Request bodies must not carry readOnly properties: turn each into `false` (may not be present). */
function forRequests(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(forRequests);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema as Record<string, Json>)) {
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, Json>).map(([prop, s]) => [
          prop,
          s && typeof s === 'object' && (s as { readOnly?: boolean }).readOnly === true ? false : forRequests(s),
        ]),
      );
    } else if (key !== 'example') {
      out[key] = forRequests(value);
    }
  }
  return out;
}

/** The ADF nodes and marks the handler may emit (https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/). */
const adfSchema = {
  $id: 'adf',
  definitions: {
    mark: {
      oneOf: [
        {
          type: 'object',
          properties: { type: { enum: ['strong', 'code'] } },
          required: ['type'],
          additionalProperties: false,
        },
        {
          type: 'object',
          properties: {
            type: { const: 'link' },
            attrs: {
              type: 'object',
              properties: { href: { type: 'string', pattern: '^https?://' } },
              required: ['href'],
              additionalProperties: false,
            },
          },
          required: ['type', 'attrs'],
          additionalProperties: false,
        },
      ],
    },
    text: {
      type: 'object',
      properties: {
        type: { const: 'text' },
        text: { type: 'string', minLength: 1 },
        marks: { type: 'array', items: { $ref: '#/definitions/mark' }, minItems: 1 },
      },
      required: ['type', 'text'],
      additionalProperties: false,
    },
    hardBreak: {
      type: 'object',
      properties: { type: { const: 'hardBreak' } },
      required: ['type'],
      additionalProperties: false,
    },
    inline: { oneOf: [{ $ref: '#/definitions/text' }, { $ref: '#/definitions/hardBreak' }] },
    paragraph: {
      type: 'object',
      properties: { type: { const: 'paragraph' }, content: { type: 'array', items: { $ref: '#/definitions/inline' } } },
      required: ['type', 'content'],
      additionalProperties: false,
    },
    heading: {
      type: 'object',
      properties: {
        type: { const: 'heading' },
        attrs: {
          type: 'object',
          properties: { level: { type: 'integer', minimum: 1, maximum: 6 } },
          required: ['level'],
          additionalProperties: false,
        },
        content: { type: 'array', items: { $ref: '#/definitions/inline' } },
      },
      required: ['type', 'attrs', 'content'],
      additionalProperties: false,
    },
    listItem: {
      type: 'object',
      properties: {
        type: { const: 'listItem' },
        content: { type: 'array', items: { $ref: '#/definitions/paragraph' }, minItems: 1 },
      },
      required: ['type', 'content'],
      additionalProperties: false,
    },
    bulletList: {
      type: 'object',
      properties: {
        type: { const: 'bulletList' },
        content: { type: 'array', items: { $ref: '#/definitions/listItem' }, minItems: 1 },
      },
      required: ['type', 'content'],
      additionalProperties: false,
    },
    codeBlock: {
      type: 'object',
      properties: {
        type: { const: 'codeBlock' },
        content: {
          type: 'array',
          items: {
            type: 'object',
            properties: { type: { const: 'text' }, text: { type: 'string', minLength: 1 } },
            required: ['type', 'text'],
            additionalProperties: false,
          },
        },
      },
      required: ['type', 'content'],
      additionalProperties: false,
    },
  },
  type: 'object',
  properties: {
    type: { const: 'doc' },
    version: { const: 1 },
    content: {
      type: 'array',
      items: {
        oneOf: ['paragraph', 'heading', 'bulletList', 'codeBlock'].map((n) => ({ $ref: `#/definitions/${n}` })),
      },
    },
  },
  required: ['type', 'version', 'content'],
  additionalProperties: false,
};

/** The spec's components as ajv documents: as published (for responses) and without readOnly properties (for requests). */
const COMPONENTS = 'jira';
const REQUEST_COMPONENTS = 'jira-request';

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`).join('; ');
}

const instances = new Map<string, JiraOpenApi>();

export class JiraOpenApi {
  /** The committed extract (see the header): what the unit tests validate against. */
  static subset(): JiraOpenApi {
    return JiraOpenApi.cached('subset', () => subset as unknown as OpenApiSpec);
  }

  /** The full spec (see the header): what the integration server validates against. Throws when it is missing. */
  static full(specPath = FULL_SPEC_PATH): JiraOpenApi {
    return JiraOpenApi.cached(specPath, () => {
      if (!fs.existsSync(specPath)) {
        throw new Error(`JIRA OpenAPI spec not found at ${specPath} (set JIRA_OPENAPI_SPEC to its path)`);
      }
      return JSON.parse(fs.readFileSync(specPath, 'utf8')) as OpenApiSpec;
    });
  }

  private static cached(key: string, load: () => OpenApiSpec): JiraOpenApi {
    let instance = instances.get(key);
    if (!instance) {
      instance = new JiraOpenApi(load());
      instances.set(key, instance);
    }
    return instance;
  }

  private readonly ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  private readonly matchers: { re: RegExp; template: string; names: string[] }[];
  private readonly bodyValidators = new Map<string, ValidateFunction | null>();
  private readonly validateAdf: ValidateFunction;

  private constructor(private readonly spec: OpenApiSpec) {
    addFormats(this.ajv);
    // Each components object is one document, so that every `$ref: '#/components/schemas/...'` inside
    // the component schemas resolves against it.
    this.ajv.addSchema({ components: spec.components }, COMPONENTS);
    this.ajv.addSchema({ components: forRequests(spec.components) } as Record<string, unknown>, REQUEST_COMPONENTS);
    this.validateAdf = this.ajv.compile(adfSchema);
    // Literal segments before templated ones, so `/issue/createmeta` beats `/issue/{issueIdOrKey}`.
    this.matchers = Object.keys(spec.paths)
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
  }

  /** Finds the spec operation for a concrete request path and method; undefined when the spec has none. */
  resolveOperation(method: string, urlPath: string): ResolvedOperation | undefined {
    const m = method.toLowerCase();
    for (const { re, template, names } of this.matchers) {
      const match = re.exec(urlPath);
      if (!match) continue;
      const operation = this.spec.paths[template][m];
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

  /** `validateRequest` for a method and concrete path; throws when the spec has no such operation. */
  requestProblems(method: string, urlPath: string, body: unknown, query = new URLSearchParams()): string[] {
    const op = this.resolveOperation(method, urlPath);
    if (!op) throw new Error(`The JIRA OpenAPI spec has no operation ${method} ${urlPath}`);
    return this.validateRequest(op, body, query);
  }

  /** Validates a request's JSON body (undefined = no body) and query against the operation. Returns problems. */
  validateRequest(op: ResolvedOperation, body: unknown, query: URLSearchParams): string[] {
    const problems: string[] = [];
    const rb = op.operation.requestBody;
    if (rb) {
      if (body === undefined) {
        if (rb.required) problems.push(`spec: ${op.operationId} request body is required`);
      } else {
        const fn = this.bodyValidator(op);
        if (fn && !fn(body)) for (const e of fn.errors ?? []) problems.push(`spec: ${describeErrors([e])}`);
      }
    } else if (body !== undefined) {
      problems.push(`spec: ${op.operationId} takes no request body`);
    }
    for (const p of op.operation.parameters ?? []) {
      if (p.in !== 'query') continue;
      const isArray = p.schema?.type === 'array';
      const values = query.getAll(p.name).flatMap((v) => (isArray ? v.split(',') : [v]));
      if (values.length === 0) {
        if (p.required) problems.push(`spec: ${op.operationId} query parameter '${p.name}' is required`);
        continue;
      }
      const type = isArray ? p.schema?.items?.type : p.schema?.type;
      for (const v of values) {
        if (type === 'integer' && !/^-?\d+$/.test(v))
          problems.push(`spec: ${op.operationId} query '${p.name}' must be an integer`);
        if (type === 'boolean' && v !== 'true' && v !== 'false')
          problems.push(`spec: ${op.operationId} query '${p.name}' must be a boolean`);
      }
    }
    problems.push(...this.adfProblems(op, body), ...jiraRules(op, body));
    return problems;
  }

  /** The spec's own example request body of an operation (by path template). */
  requestExample(method: string, template: string): unknown {
    return this.spec.paths[template]?.[method.toLowerCase()]?.requestBody?.content?.['application/json']?.example;
  }

  /** Compiles a validator for a components schema, as published (the harness self-tests check the fake's responses). */
  componentValidator(name: string): ValidateFunction {
    return this.ajv.compile({ $ref: `${COMPONENTS}#/components/schemas/${name}` });
  }

  private bodyValidator(op: ResolvedOperation): ValidateFunction | null {
    const key = `${op.method} ${op.template}`;
    if (this.bodyValidators.has(key)) return this.bodyValidators.get(key)!;
    const schema = op.operation.requestBody?.content?.['application/json']?.schema as
      Record<string, unknown> | undefined;
    let fn: ValidateFunction | null = null;
    if (schema) {
      const ref = typeof schema.$ref === 'string' ? schema.$ref : undefined;
      if (ref && ref.startsWith('#/')) {
        fn = this.ajv.compile({ $ref: `${REQUEST_COMPONENTS}${ref}` });
      } else {
        // Inline schema: point its internal refs at the components document.
        const rewritten = JSON.parse(
          JSON.stringify(forRequests(schema)).replace(
            /"\$ref":"#\/components\//g,
            `"$ref":"${REQUEST_COMPONENTS}#/components/`,
          ),
        );
        fn = this.ajv.compile(rewritten);
      }
    }
    this.bodyValidators.set(key, fn);
    return fn;
  }

  /** ADF problems of the documents in a body; addComment must have one as `body`. */
  private adfProblems(op: ResolvedOperation, body: unknown): string[] {
    const b = (body ?? {}) as { fields?: { description?: unknown }; body?: unknown; update?: unknown };
    const docs: [string, unknown][] = [];
    if (b.fields && typeof b.fields === 'object' && b.fields.description !== undefined)
      docs.push(['fields.description', b.fields.description]);
    if (b.body !== undefined || op.operationId === 'addComment') docs.push(['body', b.body]);
    if (b.update && typeof b.update === 'object') {
      for (const [field, ops] of Object.entries(b.update as Record<string, unknown>)) {
        (Array.isArray(ops) ? ops : []).forEach((o, i) => {
          const add = (o as Record<string, unknown> | null)?.add as Record<string, unknown> | undefined;
          if (add && typeof add === 'object' && 'body' in add) docs.push([`update.${field}[${i}].add.body`, add.body]);
        });
      }
    }
    const problems: string[] = [];
    for (const [where, doc] of docs) {
      if (!this.validateAdf(doc))
        problems.push(
          `ADF ${where}: must be an ADF document of the nodes the handler emits: ${describeErrors(this.validateAdf.errors)}`,
        );
    }
    return problems;
  }
}

/** JIRA's server-side rules that the spec's schemas leave open. */
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
  } else if (id === 'editIssue') {
    // The handler only rewrites an umbrella issue's summary: the same summary rules as on create.
    const summary = ((b.fields ?? {}) as Record<string, unknown>).summary;
    if (summary !== undefined) {
      if (typeof summary !== 'string' || summary.trim() === '') problems.push(`editIssue: fields.summary is empty`);
      else if (summary.length > 255) problems.push(`editIssue: fields.summary is ${summary.length} > 255 characters`);
      else if (/[\r\n]/.test(summary)) problems.push(`editIssue: fields.summary must be one line`);
    }
  } else if (id === 'doTransition') {
    const t = b.transition as Record<string, unknown> | undefined;
    if (!t || typeof t.id !== 'string' || t.id === '') problems.push(`doTransition: transition.id is required`);
  } else if (id === 'searchAndReconsileIssuesUsingJqlPost') {
    if (typeof b.jql !== 'string' || b.jql.trim() === '')
      problems.push(`${id}: jql must be a non-empty (bounded) query`);
  }
  return problems;
}
