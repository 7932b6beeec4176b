import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ManagementDependencies } from '../../lambdas/management/api.ts';
import { createManagementApi } from '../../lambdas/management/api.ts';
import { TOKEN_ROUTES } from '../../lambdas/token/endpoint.ts';

const root = path.resolve(import.meta.dirname, '../..');

describe('docs/management-api.yaml', () => {
  const doc = parse(readFileSync(path.join(root, 'docs/management-api.yaml'), 'utf8')) as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
  };

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every route of the management router and the token function, and no other', () => {
    // Building the router does no I/O: the routes are registered, nothing is called.
    const { routes } = createManagementApi({
      catalog: { apis: [] },
      publicUrls: { stage: 'wss://stage', token: 'https://token' },
    } as unknown as ManagementDependencies);
    const served = [
      ...routes.map(({ method, path }) => `${method} ${path.replace(/:(\w+)/g, '{$1}')}`),
      ...TOKEN_ROUTES,
    ];
    const documented = Object.entries(doc.paths).flatMap(([p, operations]) =>
      Object.keys(operations)
        .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
        .map((method) => `${method.toUpperCase()} ${p}`),
    );
    expect(routes).toHaveLength(21);
    expect(new Set(served).size).toBe(served.length);
    expect(documented.sort()).toEqual(served.sort());
  });
});
