/**
 * Validates JIRA request bodies against the JIRA Cloud REST v3 OpenAPI spec (request-body operations and
 * their schema closure, extracted to jira-openapi-subset.json) plus an ADF schema for the document fields.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import subset from '../jira-openapi-subset.json';

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

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'jira', components: forRequests(subset.components) } as Record<string, unknown>);
ajv.addSchema(adfSchema);

const validators = new Map<string, ValidateFunction>();

/** The validator of an operation's request body, found through the spec's `paths` (not hand-picked). */
function requestValidator(method: string, pathTemplate: string): ValidateFunction {
  const id = `${method} ${pathTemplate}`;
  const cached = validators.get(id);
  if (cached) return cached;
  const paths = subset.paths as Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> } }>
  >;
  const ref = paths[pathTemplate]?.[method.toLowerCase()]?.requestBody?.content['application/json']?.schema?.$ref;
  if (!ref) throw new Error(`The spec has no JSON request body for ${id}`);
  const validate = ajv.compile({ $ref: `jira${ref}` });
  validators.set(id, validate);
  return validate;
}

const validateAdf = ajv.getSchema('adf') as ValidateFunction;

const TEMPLATES: [RegExp, string][] = [
  [/^\/rest\/api\/3\/issue$/, '/rest/api/3/issue'],
  [/^\/rest\/api\/3\/issue\/[^/]+\/comment$/, '/rest/api/3/issue/{issueIdOrKey}/comment'],
  [/^\/rest\/api\/3\/issue\/[^/]+\/transitions$/, '/rest/api/3/issue/{issueIdOrKey}/transitions'],
  [/^\/rest\/api\/3\/search\/jql$/, '/rest/api/3/search/jql'],
];

export function pathTemplate(path: string): string {
  const match = TEMPLATES.find(([re]) => re.test(path));
  if (!match) throw new Error(`No OpenAPI path template for ${path}`);
  return match[1];
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message} ${JSON.stringify(e.params)}`).join('; ');
}

/** Problems of a request body (empty when valid): the spec schema, then ADF for the document fields. */
export function requestBodyProblems(method: string, path: string, body: unknown): string[] {
  const validate = requestValidator(method, pathTemplate(path));
  const problems: string[] = [];
  if (!validate(body)) problems.push(`spec: ${describeErrors(validate.errors)}`);
  const b = body as { fields?: { description?: unknown }; body?: unknown };
  for (const [where, doc] of [
    ['fields.description', b?.fields?.description],
    ['body', b?.body],
  ] as const) {
    if (doc !== undefined && !validateAdf(doc)) problems.push(`ADF ${where}: ${describeErrors(validateAdf.errors)}`);
  }
  return problems;
}

export function specExample(method: string, pathTemplateName: string): unknown {
  const paths = subset.paths as Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { example?: unknown }> } }>
  >;
  return paths[pathTemplateName]?.[method.toLowerCase()]?.requestBody?.content['application/json']?.example;
}
