import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import type { ManagementDependencies } from '../../lambdas/management/api.ts';
import { createManagementApi } from '../../lambdas/management/api.ts';
import { TOKEN_ROUTES } from '../../lambdas/token/endpoint.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe('docs/management-api.yaml', () => {
  const doc = parse(readFileSync(path.join(root, 'docs/management-api.yaml'), 'utf8')) as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, JsonSchema> };
  };
  // Building the router does no I/O: the routes are registered, nothing is called.
  const { routes } = createManagementApi({
    catalog: { apis: [] },
    publicUrls: { stage: 'wss://stage', token: 'https://token' },
  } as unknown as ManagementDependencies);

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every route of the management router and the token function, and no other', () => {
    const served = [
      ...routes.map(({ method, path }) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`),
      ...TOKEN_ROUTES,
    ];
    const documented = Object.entries(doc.paths).flatMap(([p, operations]) =>
      Object.keys(operations)
        .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
        .map((method) => `${method.toUpperCase()} ${p}`),
    );
    expect(documented.sort()).toEqual(served.sort());
    expect(new Set(served).size).toBe(served.length);
  });

  it("states each request body's limits as the router's schema checks them", () => {
    const withBodies = routes.filter((route) => route.body);
    expect(withBodies.map((r) => `${r.method} ${r.path}`)).toHaveLength(7);
    for (const { method, path: route, body } of withBodies) {
      const operation = doc.paths[route.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()] as {
        requestBody: { content: { 'application/json': { schema: JsonSchema } } };
      };
      const documented = resolve(operation.requestBody.content['application/json'].schema);
      const checked = z.toJSONSchema(body as z.ZodType, {
        io: 'input',
        unrepresentable: 'any',
      }) as JsonSchema;
      const where = `${method} ${route}`;
      expect(documented.additionalProperties, where).toBe(false);
      expect([...(documented.required ?? [])].sort(), where).toEqual([...(checked.required ?? [])].sort());
      expect(Object.keys(documented.properties ?? {}).sort(), where).toEqual(
        Object.keys(checked.properties ?? {}).sort(),
      );
      for (const [field, schema] of Object.entries(checked.properties ?? {})) {
        const stated = documented.properties?.[field] as JsonSchema;
        for (const limit of LIMIT_KEYWORDS)
          expect(stated[limit], `${where} ${field}.${limit}`).toEqual(schema[limit]);
      }
    }
  });

  function resolve(schema: JsonSchema): JsonSchema {
    const ref = schema.$ref?.replace('#/components/schemas/', '');
    return ref ? (doc.components.schemas[ref] as JsonSchema) : schema;
  }
});

/** The keywords that state a field's type, range and length. */
const LIMIT_KEYWORDS = ['type', 'enum', 'minimum', 'maximum', 'minLength', 'maxLength'] as const;

interface JsonSchema {
  $ref?: string;
  type?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  required?: string[];
  additionalProperties?: unknown;
  properties?: Record<string, JsonSchema>;
}
