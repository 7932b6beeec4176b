/**
 * The local stack's DefaultApplication (as WSO2's developer portal has), one per tenant of the
 * catalog, subscribed to every API of its tenant (AsyncUnlimited where the API offers it, else the
 * API's first plan): its client credentials are written to `.streamgate/default-app.json` (never
 * committed) so `npx streamgate token --api …` gets a working token with no set-up. A convenience
 * of the local stack only; on AWS, applications and subscriptions are made through the management API.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Registry } from '../lambdas/adapters/registry.ts';
import type { KeyType } from '../lambdas/core/auth.ts';
import type { ApiDef } from '../lambdas/core/catalog.ts';
import { LOCAL_REGION } from './template.ts';

export const DEFAULT_APP_NAME = 'DefaultApplication';

export interface DevApplication {
  tokenUrl: string;
  tenants: Record<
    string,
    { name: string; keys: Record<KeyType, { clientId: string; clientSecret: string }> }
  >;
}

export function defaultAppFile(stateDir: string): string {
  return path.join(stateDir, 'default-app.json');
}

export async function ensureDefaultApplication(options: {
  stateDir: string;
  endpoint: string;
  tableName: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  tokenUrl: string;
  apis: ApiDef[];
}): Promise<DevApplication> {
  const file = defaultAppFile(options.stateDir);
  const saved: DevApplication = existsSync(file)
    ? (JSON.parse(await readFile(file, 'utf8')) as DevApplication)
    : { tokenUrl: options.tokenUrl, tenants: {} };
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: LOCAL_REGION,
    credentials: options.credentials,
  });
  const registry = new Registry(DynamoDBDocumentClient.from(client), options.tableName);
  const result: DevApplication = { tokenUrl: options.tokenUrl, tenants: {} };
  try {
    for (const tenant of new Set(options.apis.map((api) => api.tenant))) {
      const known = saved.tenants[tenant];
      if (known && (await registry.getClient(known.keys.PRODUCTION.clientId))) {
        result.tenants[tenant] = known;
      } else {
        if (await registry.getApplication(tenant, DEFAULT_APP_NAME))
          await registry.deleteApplication(tenant, DEFAULT_APP_NAME);
        const { secrets } = await registry.createApplication({
          tenant,
          name: DEFAULT_APP_NAME,
          owner: 'admin',
        });
        result.tenants[tenant] = { name: DEFAULT_APP_NAME, keys: secrets };
      }
      const application = await registry.getApplication(tenant, DEFAULT_APP_NAME);
      if (!application) throw new Error(`the DefaultApplication of ${tenant} could not be read back`);
      for (const api of options.apis.filter((a) => a.tenant === tenant)) {
        if (await registry.getSubscription(application.appId, api.id)) continue;
        await registry.subscribe(
          application,
          api.id,
          api.plans.includes('AsyncUnlimited') ? 'AsyncUnlimited' : (api.plans[0] as string),
        );
      }
    }
  } finally {
    client.destroy();
  }
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
  return result;
}
