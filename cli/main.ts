/**
 * streamgate — the command line.
 *
 *   streamgate token --api <path> [--scope "a b"] [--key-type PRODUCTION|SANDBOX] [--endpoint URL]
 *   streamgate apis validate [folder]
 *   streamgate apis list [folder]
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ApiDef, Catalog } from '../lambdas/core/catalog.ts';
import { isGatewayError } from '../lambdas/core/errors.ts';
import { createTargetResolver } from '../lambdas/core/target.ts';
import { loadCatalog } from '../lib/definitions/load.ts';
import { DefinitionError } from '../lib/definitions/problems.ts';
import type { DevApplication } from '../local/dev-app.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_ENDPOINT = process.env.STREAMGATE_ENDPOINT ?? 'http://localhost:9090';

class UsageError extends Error {}

const USAGE = `streamgate — event streams as managed WebSocket APIs

Usage:
  streamgate token --api <api path> [--scope "<scopes>"] [--key-type PRODUCTION|SANDBOX] [--endpoint <url>]
      Print an access token of the DefaultApplication for an API, e.g. --api /chats/1.0.0
      or --api /t/quantis.com/train/location/1.0.0. Scopes default to all of the API's scopes.
  streamgate apis validate [folder]     Validate the API definitions (default: apis/)
  streamgate apis list [folder]         List the APIs and their topics

Options:
  --endpoint <url>   The token endpoint's base URL (default ${DEFAULT_ENDPOINT}, or $STREAMGATE_ENDPOINT)
  --json             Print JSON
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'token':
      return token(rest);
    case 'apis':
      return apis(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function catalogAt(folder: string | undefined): Promise<Catalog> {
  return loadCatalog(path.resolve(folder ?? path.join(root, 'apis')), { displayRoot: process.cwd() });
}

async function apis(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
  });
  const [sub, folder] = positionals;
  const catalog = await catalogAt(folder);
  switch (sub) {
    case 'validate':
      if (values.json)
        process.stdout.write(`${JSON.stringify({ valid: true, apis: catalog.apis.length })}\n`);
      else process.stdout.write(`${catalog.apis.length} API definitions are valid.\n`);
      return 0;
    case 'list':
      if (values.json) {
        process.stdout.write(`${JSON.stringify(catalog.apis, null, 2)}\n`);
        return 0;
      }
      for (const api of catalog.apis) process.stdout.write(describeApi(api));
      return 0;
    default:
      throw new UsageError('usage: streamgate apis validate|list [folder]');
  }
}

function describeApi(api: ApiDef): string {
  const base = `${api.tenant === 'carbon.super' ? '' : `/t/${api.tenant}`}${api.context}/${api.version}`;
  const lines = [
    `${api.name} ${api.version}  ${base}  [${api.lifecycle}${api.defaultVersion ? ', default version' : ''}]  plans: ${api.plans.join(', ')}`,
    ...api.channels.map((channel) => {
      const kinds = [channel.pub ? 'pub' : '', channel.sub ? 'sub' : ''].filter(Boolean).join('+');
      const backend =
        channel.backend.type === 'kafka' ? `kafka:${channel.backend.topic}` : channel.backend.type;
      const scopes = [...new Set([...channel.pubScopes, ...channel.subScopes])];
      return `  ${channel.name.padEnd(28)} ${kinds.padEnd(8)} ${channel.format.padEnd(5)} ${backend}${scopes.length ? `  scopes: ${scopes.join(' ')}` : ''}`;
    }),
  ];
  return `${lines.join('\n')}\n\n`;
}

async function token(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      api: { type: 'string' },
      scope: { type: 'string' },
      'key-type': { type: 'string', default: 'PRODUCTION' },
      endpoint: { type: 'string', default: DEFAULT_ENDPOINT },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.api) throw new UsageError('token needs --api <api path>, e.g. --api /chats/1.0.0');
  const keyType = values['key-type'].toUpperCase();
  if (keyType !== 'PRODUCTION' && keyType !== 'SANDBOX')
    throw new UsageError('--key-type is PRODUCTION or SANDBOX');

  const catalog = await catalogAt(undefined);
  const api = createTargetResolver(catalog).resolveApi(values.api);
  const scopes =
    values.scope ??
    [...new Set(api.channels.flatMap((channel) => [...channel.pubScopes, ...channel.subScopes]))].join(' ');

  const appFile = path.join(root, '.streamgate', 'default-app.json');
  if (!existsSync(appFile)) {
    throw new UsageError('no DefaultApplication yet: start the local stack first with `npm start`');
  }
  const app = JSON.parse(readFileSync(appFile, 'utf8')) as DevApplication;
  const credentials = app.tenants[api.tenant]?.keys[keyType as 'PRODUCTION' | 'SANDBOX'];
  if (!credentials)
    throw new UsageError(`the DefaultApplication has no ${keyType} key for tenant ${api.tenant}`);

  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    ...(scopes ? { scope: scopes } : {}),
  });
  let response: Response;
  try {
    response = await fetch(`${values.endpoint.replace(/\/$/, '')}/oauth2/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`).toString('base64')}`,
      },
      body,
    });
  } catch (error) {
    throw new UsageError(
      `cannot reach the token endpoint at ${values.endpoint} (${(error as Error).message}); is the local stack running (npm start)?`,
    );
  }
  const result = (await response.json()) as Record<string, string>;
  if (!response.ok) {
    throw new UsageError(`the token endpoint refused: ${result.error}: ${result.error_description ?? ''}`);
  }
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${result.access_token}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof DefinitionError) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof UsageError || isGatewayError(error)) {
      process.stderr.write(`streamgate: ${(error as Error).message}\n`);
    } else {
      process.stderr.write(`streamgate: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exit(1);
  },
);
