/**
 * streamgate — the command line. Talks to the local stack by default (http://localhost:9090) and
 * to a deployed stack with --endpoint <HttpApiUrl> (administration calls are signed with your AWS
 * credentials there).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify as stringifyYaml } from 'yaml';
import type { KeyType } from '../lambdas/core/auth.ts';
import { type ApiDef, apiPath, type Catalog, DEFAULT_TENANT } from '../lambdas/core/catalog.ts';
import { isGatewayError } from '../lambdas/core/errors.ts';
import { createTargetResolver } from '../lambdas/core/target.ts';
import { loadCatalog } from '../lib/definitions/load.ts';
import { DefinitionError } from '../lib/definitions/problems.ts';
import type { DevApplication } from '../local/dev-app.ts';
import { CliError, isLocal, ManagementClient } from './management-client.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = process.env.STREAMGATE_STATE_DIR ?? path.join(root, '.streamgate');

const USAGE = `streamgate — event streams as managed WebSocket APIs

Tokens
  token --api <api path> [--app <name>] [--scope "<scopes>"] [--key-type PRODUCTION|SANDBOX]
        An access token for an API (e.g. --api /chats/1.0.0, --api /t/quantis.com/train/location/1.0.0):
        of the local DefaultApplication, or of --app (created with this CLI, or --client-id/--client-secret).

Applications (--tenant <domain>, default carbon.super)
  apps create <name> [--owner <owner>]        prints the PRODUCTION and SANDBOX client ids and secrets
  apps list | apps show <name> | apps delete <name>
  apps rotate-secret <name> [--key-type PRODUCTION|SANDBOX]
  apps map-client <name> --issuer <url> --client-id <id>     tokens of an external issuer act for the application

Subscriptions and plans
  subscribe <app> <api path> --plan <plan>
  unsubscribe <app> <api path>
  subscriptions <app>
  subscription <app> <api path> [--plan <plan>] [--status ACTIVE|BLOCKED]     change plan, block, unblock
  plans list | plans set <name> [--events <n> --per minute|hour|day|month] [--max-connections <n>] [--description <text>]
  usage <app>

APIs
  apis validate [folder] | apis list [folder]                the definitions under apis/
  apis lifecycle <api path> [CREATED|PUBLISHED|DEPRECATED|BLOCKED|RETIRED]   show or change the state
  apis export <api path> [--yaml] [--out <file>]           the deployed API's AsyncAPI document

Backends
  publish <api path> <topic> <data>          send a frame to every subscriber of a topic, e.g.
                                             publish /chats/1.0.0 /notifications "maintenance at 5"

Options
  --endpoint <url>   management API / token endpoint (default http://localhost:9090, or $STREAMGATE_ENDPOINT)
  --json             print JSON
`;

interface Globals {
  endpoint: string;
  tenant: string;
  json: boolean;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const sub = rest[0];
  switch (command) {
    case 'token':
      return token(rest);
    case 'apis':
      return apis(rest);
    case 'apps':
      return apps(sub, rest.slice(1));
    case 'subscribe':
    case 'unsubscribe':
    case 'subscriptions':
    case 'subscription':
      return subscriptions(command, rest);
    case 'plans':
      return plans(sub, rest.slice(1));
    case 'usage':
      return usage(rest);
    case 'publish':
      return publish(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      throw new CliError(`unknown command "${command}"; see streamgate help`);
  }
}

const GLOBAL_OPTIONS = {
  endpoint: { type: 'string', default: process.env.STREAMGATE_ENDPOINT ?? 'http://localhost:9090' },
  tenant: { type: 'string', default: DEFAULT_TENANT },
  json: { type: 'boolean', default: false },
} as const;

function parse<O extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(
  argv: string[],
  options: O,
) {
  const parsed = parseArgs({
    args: argv,
    options: { ...GLOBAL_OPTIONS, ...options },
    allowPositionals: true,
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const globals: Globals = {
    endpoint: String(values.endpoint),
    tenant: String(values.tenant).toLowerCase(),
    json: Boolean(values.json),
  };
  return { values, positionals: parsed.positionals, globals };
}

function print(globals: Globals, value: unknown, text: () => string): number {
  process.stdout.write(globals.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
  return 0;
}

function need(value: unknown, what: string): string {
  if (typeof value !== 'string' || !value) throw new CliError(`missing ${what}; see streamgate help`);
  return value;
}

let catalogCache: Catalog | undefined;
async function catalogAt(folder?: string): Promise<Catalog> {
  if (!folder && catalogCache) return catalogCache;
  const catalog = await loadCatalog(path.resolve(folder ?? path.join(root, 'apis')), {
    displayRoot: process.cwd(),
  });
  if (!folder) catalogCache = catalog;
  return catalog;
}

async function apiAt(apiPath: string): Promise<ApiDef> {
  return createTargetResolver(await catalogAt()).resolveApi(apiPath);
}

// --- local credential store: what `apps create` printed, so `token --app` works -------------------

function appFile(tenant: string, name: string): string {
  return path.join(stateDir, 'apps', tenant, `${name}.json`);
}

type Keys = Record<KeyType, { clientId: string; clientSecret: string }>;

function rememberKeys(tenant: string, name: string, keys: Partial<Keys>): void {
  const file = appFile(tenant, name);
  mkdirSync(path.dirname(file), { recursive: true });
  const previous = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Keys>) : {};
  writeFileSync(file, `${JSON.stringify({ ...previous, ...keys }, null, 2)}\n`, { mode: 0o600 });
}

function rememberedKeys(tenant: string, name: string): Partial<Keys> | undefined {
  if (name === 'DefaultApplication') {
    const file = path.join(stateDir, 'default-app.json');
    if (!existsSync(file)) return undefined;
    return (JSON.parse(readFileSync(file, 'utf8')) as DevApplication).tenants[tenant]?.keys;
  }
  const file = appFile(tenant, name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<Keys>) : undefined;
}

// --- commands ----------------------------------------------------------------------------------------

async function token(argv: string[]): Promise<number> {
  const { values, globals } = parse(argv, {
    api: { type: 'string' },
    app: { type: 'string', default: 'DefaultApplication' },
    scope: { type: 'string' },
    'key-type': { type: 'string', default: 'PRODUCTION' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
  });
  const api = await apiAt(need(values.api, '--api <api path>, e.g. --api /chats/1.0.0'));
  const keyType = String(values['key-type']).toUpperCase() as KeyType;
  if (keyType !== 'PRODUCTION' && keyType !== 'SANDBOX')
    throw new CliError('--key-type is PRODUCTION or SANDBOX');
  const scope =
    typeof values.scope === 'string'
      ? values.scope
      : [...new Set(api.channels.flatMap((channel) => [...channel.pubScopes, ...channel.subScopes]))].join(
          ' ',
        );
  const app = String(values.app);
  let credentials = rememberedKeys(api.tenant, app)?.[keyType];
  if (values['client-id'] && values['client-secret']) {
    credentials = { clientId: String(values['client-id']), clientSecret: String(values['client-secret']) };
  }
  if (!credentials) {
    throw new CliError(
      app === 'DefaultApplication'
        ? 'no DefaultApplication yet: start the local stack first with `npm start`'
        : `no ${keyType} credentials of ${app} (tenant ${api.tenant}) here; pass --client-id and --client-secret`,
    );
  }
  const result = await new ManagementClient(globals.endpoint).token(
    credentials.clientId,
    credentials.clientSecret,
    scope,
  );
  process.stdout.write(globals.json ? `${JSON.stringify(result)}\n` : `${result.access_token}\n`);
  return 0;
}

async function apis(argv: string[]): Promise<number> {
  const { values, positionals, globals } = parse(argv, {
    yaml: { type: 'boolean', default: false },
    out: { type: 'string' },
  });
  const [sub, arg, state] = positionals;
  switch (sub) {
    case 'validate': {
      const catalog = await catalogAt(arg);
      return print(
        globals,
        { valid: true, apis: catalog.apis.length },
        () => `${catalog.apis.length} API definitions are valid.`,
      );
    }
    case 'list': {
      const catalog = await catalogAt(arg);
      return print(globals, catalog.apis, () => catalog.apis.map(describeApi).join('\n'));
    }
    case 'lifecycle': {
      const api = await apiAt(need(arg, '<api path>'));
      const client = new ManagementClient(globals.endpoint);
      const at = `/tenants/${api.tenant}/apis/${encodeURIComponent(api.name)}/${api.version}`;
      const result = state
        ? await client.admin('PUT', `${at}/lifecycle`, { state: state.toUpperCase() })
        : await client.admin('GET', at);
      return print(globals, result, () => `${api.name} ${api.version}: ${result.lifecycle}`);
    }
    case 'export': {
      const api = await apiAt(need(arg, '<api path>'));
      const document = await new ManagementClient(globals.endpoint).admin(
        'GET',
        `/tenants/${api.tenant}/apis/${encodeURIComponent(api.name)}/${api.version}/asyncapi`,
      );
      const text = values.yaml ? stringifyYaml(document) : `${JSON.stringify(document, null, 2)}\n`;
      if (typeof values.out === 'string') {
        writeFileSync(values.out, text);
        process.stderr.write(`wrote the AsyncAPI document of ${api.name} ${api.version} to ${values.out}\n`);
      } else process.stdout.write(text);
      return 0;
    }
    default:
      throw new CliError(
        'usage: streamgate apis validate|list [folder] | apis lifecycle <api path> [STATE] | apis export <api path> [--yaml] [--out <file>]',
      );
  }
}

async function publish(argv: string[]): Promise<number> {
  const { positionals, globals } = parse(argv, {});
  const [apiArg, topic, data] = positionals;
  const api = await apiAt(need(apiArg, '<api path>'));
  const result = await new ManagementClient(globals.endpoint).admin<{
    recipients: number;
    delivered: number;
  }>('POST', `/tenants/${api.tenant}/apis/${encodeURIComponent(api.name)}/${api.version}/publish`, {
    topic: need(topic, '<topic>, e.g. /notifications'),
    data: need(data, '<data>'),
  });
  return print(globals, result, () => `delivered to ${result.delivered} of ${result.recipients} subscribers`);
}

function describeApi(api: ApiDef): string {
  const base = apiPath(api);
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
  return `${lines.join('\n')}\n`;
}

async function apps(sub: string | undefined, argv: string[]): Promise<number> {
  const { values, positionals, globals } = parse(argv, {
    owner: { type: 'string' },
    'key-type': { type: 'string', default: 'PRODUCTION' },
    issuer: { type: 'string' },
    'client-id': { type: 'string' },
  });
  const client = new ManagementClient(globals.endpoint);
  const base = `/tenants/${globals.tenant}/applications`;
  const name = positionals[0];
  switch (sub) {
    case 'create': {
      const result = await client.admin<{ application: { name: string; tenant: string }; keys: Keys }>(
        'POST',
        base,
        {
          name: need(name, '<application name>'),
          ...(values.owner ? { owner: values.owner } : {}),
        },
      );
      if (isLocal(globals.endpoint)) rememberKeys(globals.tenant, result.application.name, result.keys);
      return print(globals, result, () =>
        [
          `Application ${result.application.name} (tenant ${result.application.tenant}) created.`,
          'Keep the secrets now: they are stored hashed and cannot be shown again.',
          ...(['PRODUCTION', 'SANDBOX'] as const).map(
            (k) =>
              `  ${k.padEnd(10)}  CLIENT_ID=${result.keys[k].clientId}  CLIENT_SECRET=${result.keys[k].clientSecret}`,
          ),
        ].join('\n'),
      );
    }
    case 'list': {
      const result = await client.admin<{
        applications: { name: string; owner: string; createdAt: string }[];
      }>('GET', base);
      return print(
        globals,
        result,
        () =>
          result.applications.map((a) => `${a.name}  (owner ${a.owner}, ${a.createdAt})`).join('\n') ||
          'no applications',
      );
    }
    case 'show': {
      const result = await client.admin(
        'GET',
        `${base}/${encodeURIComponent(need(name, '<application name>'))}`,
      );
      return print(globals, result, () => JSON.stringify(result, null, 2));
    }
    case 'delete':
      await client.admin('DELETE', `${base}/${encodeURIComponent(need(name, '<application name>'))}`);
      return print(globals, { deleted: name }, () => `Application ${name} deleted.`);
    case 'rotate-secret': {
      const keyType = String(values['key-type']).toUpperCase();
      const result = await client.admin<{ clientId: string; clientSecret: string }>(
        'POST',
        `${base}/${encodeURIComponent(need(name, '<application name>'))}/keys/${keyType}/secret`,
      );
      if (isLocal(globals.endpoint)) rememberKeys(globals.tenant, String(name), { [keyType]: result });
      return print(
        globals,
        result,
        () =>
          `New ${keyType} secret of ${name}: CLIENT_ID=${result.clientId}  CLIENT_SECRET=${result.clientSecret}`,
      );
    }
    case 'map-client': {
      const result = await client.admin(
        'POST',
        `${base}/${encodeURIComponent(need(name, '<application name>'))}/external-clients`,
        {
          issuer: need(values.issuer, '--issuer <url>'),
          clientId: need(values['client-id'], '--client-id <id>'),
        },
      );
      return print(
        globals,
        result,
        () => `Tokens of ${values.issuer} for client ${values['client-id']} now act for ${name}.`,
      );
    }
    default:
      throw new CliError('usage: streamgate apps create|list|show|delete|rotate-secret|map-client …');
  }
}

async function subscriptions(command: string, argv: string[]): Promise<number> {
  const { values, positionals, globals } = parse(argv, {
    plan: { type: 'string' },
    status: { type: 'string' },
  });
  const client = new ManagementClient(globals.endpoint);
  const appName = need(positionals[0], '<application name>');
  if (command === 'subscriptions') {
    const result = await client.admin<{ subscriptions: { apiId: string; plan: string; status: string }[] }>(
      'GET',
      `/tenants/${globals.tenant}/applications/${encodeURIComponent(appName)}/subscriptions`,
    );
    return print(
      globals,
      result,
      () =>
        result.subscriptions.map((s) => `${s.apiId}  plan ${s.plan}  ${s.status}`).join('\n') ||
        'no subscriptions',
    );
  }
  const api = await apiAt(need(positionals[1], '<api path>, e.g. /chats/1.0.0'));
  const base = `/tenants/${api.tenant}/applications/${encodeURIComponent(appName)}/subscriptions`;
  const one = `${base}/${encodeURIComponent(api.name)}/${api.version}`;
  switch (command) {
    case 'subscribe': {
      const result = await client.admin('POST', base, {
        name: api.name,
        version: api.version,
        plan: need(values.plan, '--plan <plan>'),
      });
      return print(
        globals,
        result,
        () => `${appName} subscribed to ${api.name} ${api.version} with plan ${values.plan}.`,
      );
    }
    case 'unsubscribe':
      await client.admin('DELETE', one);
      return print(
        globals,
        { unsubscribed: api.id },
        () => `${appName} unsubscribed from ${api.name} ${api.version}.`,
      );
    default: {
      const change = {
        ...(values.plan ? { plan: values.plan } : {}),
        ...(values.status ? { status: String(values.status).toUpperCase() } : {}),
      };
      const result = await client.admin<{ plan: string; status: string }>('PATCH', one, change);
      return print(
        globals,
        result,
        () => `${appName} on ${api.name} ${api.version}: plan ${result.plan}, ${result.status}`,
      );
    }
  }
}

async function plans(sub: string | undefined, argv: string[]): Promise<number> {
  const { values, positionals, globals } = parse(argv, {
    events: { type: 'string' },
    per: { type: 'string' },
    'max-connections': { type: 'string' },
    description: { type: 'string' },
  });
  const client = new ManagementClient(globals.endpoint);
  switch (sub) {
    case 'list': {
      const result = await client.admin<{
        plans: { name: string; events?: number; per?: string; maxConnections?: number; source: string }[];
      }>('GET', `/tenants/${globals.tenant}/plans`);
      return print(globals, result, () =>
        result.plans
          .map(
            (p) =>
              `${p.name.padEnd(30)} ${p.events === undefined ? 'unlimited' : `${p.events} events/${p.per}`}${p.maxConnections ? `, ${p.maxConnections} connections` : ''}  (${p.source})`,
          )
          .join('\n'),
      );
    }
    case 'set': {
      const name = need(positionals[0], '<plan name>');
      const body = {
        ...(values.events !== undefined ? { events: Number(values.events), per: values.per ?? 'day' } : {}),
        ...(values['max-connections'] !== undefined
          ? { maxConnections: Number(values['max-connections']) }
          : {}),
        ...(values.description ? { description: values.description } : {}),
      };
      const result = await client.admin(
        'PUT',
        `/tenants/${globals.tenant}/plans/${encodeURIComponent(name)}`,
        body,
      );
      return print(globals, result, () => `Plan ${name} saved: ${JSON.stringify(result)}`);
    }
    default:
      throw new CliError('usage: streamgate plans list | plans set <name> --events <n> --per day …');
  }
}

async function usage(argv: string[]): Promise<number> {
  const { positionals, globals } = parse(argv, {});
  const appName = need(positionals[0], '<application name>');
  const result = await new ManagementClient(globals.endpoint).admin<{
    usage: {
      api: string;
      plan: string;
      used: number;
      limit?: number;
      throttled: number;
      resetsAt: string;
      status: string;
    }[];
  }>('GET', `/tenants/${globals.tenant}/applications/${encodeURIComponent(appName)}/usage`);
  return print(
    globals,
    result,
    () =>
      result.usage
        .map(
          (u) =>
            `${u.api}  plan ${u.plan}: ${u.used}${u.limit === undefined ? '' : `/${u.limit}`} events, ${u.throttled} throttled, resets ${u.resetsAt}${u.status === 'ACTIVE' ? '' : ` (${u.status})`}`,
        )
        .join('\n') || 'no subscriptions',
  );
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof DefinitionError) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof CliError || isGatewayError(error)) {
      process.stderr.write(`streamgate: ${(error as Error).message}\n`);
    } else if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`streamgate: ${(error as Error).message}\n`);
    } else {
      process.stderr.write(`streamgate: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exit(1);
  },
);
