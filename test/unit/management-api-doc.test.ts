import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = path.resolve(import.meta.dirname, '../..');

describe('docs/management-api.yaml', () => {
  const doc = parse(readFileSync(path.join(root, 'docs/management-api.yaml'), 'utf8')) as {
    openapi: string;
    paths: Record<string, Record<string, unknown>>;
  };

  it('is OpenAPI 3.1', () => {
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every route the management and token functions serve, and no other', () => {
    const source = readFileSync(path.join(root, 'lambdas/management/index.ts'), 'utf8');
    const served = [...source.matchAll(/route\(\s*'(\w+)',\s*[`'](.*?)[`']/g)].map(
      ([, method, route]) => `${method} ${(route as string).replace('${T}', '/admin/tenants/{tenant}')}`,
    );
    served.push(
      'POST /oauth2/token',
      'GET /.well-known/jwks.json',
      'GET /.well-known/oauth-authorization-server',
    );
    const documented = Object.entries(doc.paths).flatMap(([p, operations]) =>
      Object.keys(operations)
        .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
        .map((method) => `${method.toUpperCase()} ${p}`),
    );
    expect(served.length).toBeGreaterThan(15);
    expect(documented.sort()).toEqual(served.sort());
  });
});
