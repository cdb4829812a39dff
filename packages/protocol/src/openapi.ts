import { z } from 'zod';
import { ERROR_STATUS, ErrorResponseSchema } from './errors.js';
import { type RouteDefinition, routes } from './routes.js';
import { PROTOCOL_VERSION } from './version.js';

type JsonSchema = Record<string, unknown>;

function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as JsonSchema;
}

function parametersOf(route: RouteDefinition): JsonSchema[] {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, 'input');
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: property });
    }
  }
  return parameters;
}

/** The OpenAPI 3 document of the HTTP API, generated from the route table. */
export function buildOpenApiDocument(options: { serverUrl?: string } = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(routes) as [string, RouteDefinition][]) {
    const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const operation: JsonSchema = {
      operationId: name,
      summary: route.summary,
      ...(route.caller === 'bot' ? { description: 'Bot accounts only: a person gets FORBIDDEN before the body is read.' } : {}),
      tags: [route.tag],
      parameters: parametersOf(route),
      responses: {} as Record<string, JsonSchema>,
    };
    if (route.auth !== 'none') operation.security = [{ bearer: [] }, { cookie: [] }];
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body, 'input') } } };
    } else if (route.upload) {
      const content: Record<string, JsonSchema> = {};
      for (const type of route.upload.contentTypes) content[type] = { schema: { type: 'string', format: 'binary' } };
      operation.requestBody = { required: true, description: route.upload.description, content };
    }
    const responses = operation.responses as Record<string, JsonSchema>;
    const status = String(route.status ?? (route.response === null ? 204 : route.response === 'redirect' ? 303 : 200));
    if (route.response === null) responses[status] = { description: 'Done.' };
    else if (route.response === 'redirect') {
      responses['303'] = { description: 'See Other: the browser goes on to the page named by Location.', headers: { Location: { schema: { type: 'string' } } } };
    } else if (route.response === 'binary') {
      responses[status] = { description: 'The file.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    } else {
      responses[status] = { description: 'Success.', content: { 'application/json': { schema: schemaOf(route.response, 'output') } } };
    }
    responses.default = {
      description: `An error. Codes and their statuses: ${Object.entries(ERROR_STATUS).map(([code, value]) => `${code} ${value}`).join(', ')}.`,
      content: { 'application/json': { schema: schemaOf(ErrorResponseSchema, 'output') } },
    };
    (paths[path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Parley API',
      version: String(PROTOCOL_VERSION),
      description:
        'HTTP commands and a WebSocket event stream at /api/socket. Authenticate with a session cookie or `Authorization: Bearer <token>`.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'parley_session' },
      },
    },
    paths,
  };
}
