import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi.js';
import { routes } from './routes.js';

describe('OpenAPI document', () => {
  const document = buildOpenApiDocument() as { paths: Record<string, Record<string, { operationId: string; parameters: { name: string; in: string }[] }>> };

  it('has one operation for every route, named after it', () => {
    const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods).map((operation) => operation.operationId));
    expect(operations.sort()).toEqual(Object.keys(routes).sort());
  });

  it('declares every path parameter', () => {
    for (const [path, methods] of Object.entries(document.paths)) {
      const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const operation of Object.values(methods)) {
        const declared = operation.parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name);
        expect(declared.sort(), `${operation.operationId}`).toEqual(names.sort());
      }
    }
  });
});
