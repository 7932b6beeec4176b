import type { ApiDef, ChannelDef } from '../../lambdas/core/catalog.ts';

/** Build catalog entries for tests: only what a test states differs from a plain published API. */
export function channel(name: string, overrides: Partial<ChannelDef> = {}): ChannelDef {
  return {
    name,
    pub: true,
    sub: true,
    pubScopes: [],
    subScopes: [],
    format: 'text',
    backend: { type: 'fanout' },
    ...overrides,
  };
}

export function api(overrides: Partial<ApiDef> & Pick<ApiDef, 'name' | 'context'>): ApiDef {
  const tenant = overrides.tenant ?? 'carbon.super';
  const version = overrides.version ?? '1.0.0';
  return {
    id: `${tenant}/${overrides.name}/${version}`,
    version,
    tenant,
    defaultVersion: false,
    lifecycle: 'PUBLISHED',
    secured: true,
    plans: ['AsyncUnlimited'],
    endpoints: {},
    channels: [channel('/*')],
    source: 'test',
    ...overrides,
  };
}
