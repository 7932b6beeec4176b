/**
 * streamgate — the command line, on commander. Talks to the local stack by default
 * (http://localhost:9090) and to a deployed stack with --endpoint <HttpApiUrl> (administration
 * calls are signed with your AWS credentials there).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { stringify as stringifyYaml } from 'yaml';
import { KEY_TYPES, SUBSCRIPTION_STATUSES } from '../lambdas/core/applications.ts';
import type { KeyType } from '../lambdas/core/auth.ts';
import {
  type ApiDef,
  apiPath,
  type Catalog,
  DEFAULT_TENANT,
  LIFECYCLE_STATES,
} from '../lambdas/core/catalog.ts';
import { isGatewayError } from '../lambdas/core/errors.ts';
import { PLAN_PERIODS } from '../lambdas/core/plans.ts';
import { createTargetResolver } from '../lambdas/core/target.ts';
import { loadCatalog } from '../lib/definitions/load.ts';
import { DefinitionError } from '../lib/definitions/problems.ts';
import { exportLines, LOCAL_CREDENTIALS, localEnvironmentFile } from '../local/credentials.ts';
import type { DevApplication } from '../local/dev-app.ts';
import { CliError, isLocal, ManagementClient } from './management-client.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stateDir = process.env.STREAMGATE_STATE_DIR ?? path.join(root, '.streamgate');

/** The options every command takes (program options; commander reads them anywhere on the line). */
interface Globals {
  endpoint: string;
  tenant: string;
  json: boolean;
}

// --- typed option values ------------------------------------------------------------------------------

/** A value of `choices`, given in any case (`sandbox`, `Sandbox`); help lists the choices. */
function upperCaseChoice<T extends string>(option: Option, choices: readonly T[]): Option;
function upperCaseChoice<T extends string>(option: Argument, choices: readonly T[]): Argument;
function upperCaseChoice<T extends string>(option: Option | Argument, choices: readonly T[]) {
  return option.choices(choices).argParser((value: string) => {
    const upper = value.toUpperCase() as T;
    if (!choices.includes(upper))
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')}.`);
    return upper;
  });
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('Not a whole number.');
  return n;
}

const keyTypeOption = () =>
  upperCaseChoice(new Option('--key-type <type>', 'which key of the application'), KEY_TYPES).default(
    'PRODUCTION',
  );

// --- output and lookups ------------------------------------------------------------------------------

function globalsOf(command: Command): Globals {
  const values = command.optsWithGlobals<Globals>();
  return { endpoint: values.endpoint, tenant: values.tenant.toLowerCase(), json: values.json };
}

function print(globals: Globals, value: unknown, text: () => string): void {
  process.stdout.write(globals.json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
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

/** The management API path of an API version (`/tenants/{tenant}/apis/{name}/{version}`). */
const adminApiPath = (api: ApiDef) =>
  `/tenants/${api.tenant}/apis/${encodeURIComponent(api.name)}/${api.version}`;

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

// --- the commands ------------------------------------------------------------------------------------

const program = new Command('streamgate')
  .description('event streams as managed WebSocket APIs')
  .addOption(
    new Option('--endpoint <url>', 'management API / token endpoint')
      .env('STREAMGATE_ENDPOINT')
      .default('http://localhost:9090'),
  )
  .option('--tenant <domain>', 'the tenant of applications and plans', DEFAULT_TENANT)
  .option('--json', 'print JSON', false)
  .configureOutput({ outputError: (text, write) => write(`streamgate: ${text.replace(/^error: /, '')}`) })
  .showHelpAfterError('(see streamgate help)');

program
  .command('token')
  .description(
    'an access token for an API: of the local DefaultApplication, or of --app (created with this CLI, or --client-id/--client-secret)',
  )
  .requiredOption('--api <api path>', 'e.g. /chats/1.0.0 or /t/quantis.com/train/location/1.0.0')
  .option('--app <name>', 'the application', 'DefaultApplication')
  .option('--scope <scopes>', "space-separated (default: every scope of the API's channels)")
  .addOption(keyTypeOption())
  .option('--client-id <id>', 'credentials of an application created elsewhere')
  .option('--client-secret <secret>')
  .action(
    async (
      options: {
        api: string;
        app: string;
        scope?: string;
        keyType: KeyType;
        clientId?: string;
        clientSecret?: string;
      },
      command: Command,
    ) => {
      const globals = globalsOf(command);
      const api = await apiAt(options.api);
      const scope =
        options.scope ??
        [...new Set(api.channels.flatMap((channel) => [...channel.pubScopes, ...channel.subScopes]))].join(
          ' ',
        );
      const credentials =
        options.clientId && options.clientSecret
          ? { clientId: options.clientId, clientSecret: options.clientSecret }
          : rememberedKeys(api.tenant, options.app)?.[options.keyType];
      if (!credentials) {
        throw new CliError(
          options.app === 'DefaultApplication'
            ? 'no DefaultApplication yet: start the local stack first with `npm start`'
            : `no ${options.keyType} credentials of ${options.app} (tenant ${api.tenant}) here; pass --client-id and --client-secret`,
        );
      }
      const result = await new ManagementClient(globals.endpoint).token(
        credentials.clientId,
        credentials.clientSecret,
        scope,
      );
      process.stdout.write(globals.json ? `${JSON.stringify(result)}\n` : `${result.access_token}\n`);
    },
  );

// --- applications

const apps = program.command('apps').description('applications of a tenant (--tenant)');

apps
  .command('create <name>')
  .description('create an application; prints its PRODUCTION and SANDBOX client ids and secrets')
  .option('--owner <owner>', 'who owns it')
  .action(async (name: string, options: { owner?: string }, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin<{
      application: { name: string; tenant: string };
      keys: Keys;
    }>('POST', `/tenants/${globals.tenant}/applications`, {
      name,
      ...(options.owner ? { owner: options.owner } : {}),
    });
    if (isLocal(globals.endpoint)) rememberKeys(globals.tenant, result.application.name, result.keys);
    print(globals, result, () =>
      [
        `Application ${result.application.name} (tenant ${result.application.tenant}) created.`,
        'Keep the secrets now: they are stored hashed and cannot be shown again.',
        ...KEY_TYPES.map(
          (k) =>
            `  ${k.padEnd(10)}  CLIENT_ID=${result.keys[k].clientId}  CLIENT_SECRET=${result.keys[k].clientSecret}`,
        ),
      ].join('\n'),
    );
  });

apps
  .command('list')
  .description("the tenant's applications")
  .action(async (_options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin<{
      applications: { name: string; owner: string; createdAt: string }[];
    }>('GET', `/tenants/${globals.tenant}/applications`);
    print(
      globals,
      result,
      () =>
        result.applications.map((a) => `${a.name}  (owner ${a.owner}, ${a.createdAt})`).join('\n') ||
        'no applications',
    );
  });

apps
  .command('show <name>')
  .description('an application and its client ids')
  .action(async (name: string, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin(
      'GET',
      `/tenants/${globals.tenant}/applications/${encodeURIComponent(name)}`,
    );
    print(globals, result, () => JSON.stringify(result, null, 2));
  });

apps
  .command('delete <name>')
  .description('delete an application, its keys and its subscriptions')
  .action(async (name: string, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
    await new ManagementClient(globals.endpoint).admin(
      'DELETE',
      `/tenants/${globals.tenant}/applications/${encodeURIComponent(name)}`,
    );
    print(globals, { deleted: name }, () => `Application ${name} deleted.`);
  });

apps
  .command('rotate-secret <name>')
  .description('a new secret for one key of an application; the old one stops working at once')
  .addOption(keyTypeOption())
  .action(async (name: string, options: { keyType: KeyType }, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin<{
      clientId: string;
      clientSecret: string;
    }>(
      'POST',
      `/tenants/${globals.tenant}/applications/${encodeURIComponent(name)}/keys/${options.keyType}/secret`,
    );
    if (isLocal(globals.endpoint)) rememberKeys(globals.tenant, name, { [options.keyType]: result });
    print(
      globals,
      result,
      () =>
        `New ${options.keyType} secret of ${name}: CLIENT_ID=${result.clientId}  CLIENT_SECRET=${result.clientSecret}`,
    );
  });

apps
  .command('map-client <name>')
  .description("tokens of an external issuer's client act for the application")
  .requiredOption('--issuer <url>', 'the external issuer')
  .requiredOption('--client-id <id>', "the client's id at that issuer")
  .action(async (name: string, options: { issuer: string; clientId: string }, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin(
      'POST',
      `/tenants/${globals.tenant}/applications/${encodeURIComponent(name)}/external-clients`,
      { issuer: options.issuer, clientId: options.clientId },
    );
    print(
      globals,
      result,
      () => `Tokens of ${options.issuer} for client ${options.clientId} now act for ${name}.`,
    );
  });

// --- subscriptions and plans

const subscriptionsOf = (tenant: string, app: string) =>
  `/tenants/${tenant}/applications/${encodeURIComponent(app)}/subscriptions`;

program
  .command('subscribe <app> <api-path>')
  .description('subscribe an application to an API with a plan')
  .requiredOption('--plan <plan>', 'one of the plans the API offers')
  .action(async (app: string, apiArg: string, options: { plan: string }, command: Command) => {
    const globals = globalsOf(command);
    const api = await apiAt(apiArg);
    const result = await new ManagementClient(globals.endpoint).admin(
      'POST',
      subscriptionsOf(api.tenant, app),
      { name: api.name, version: api.version, plan: options.plan },
    );
    print(
      globals,
      result,
      () => `${app} subscribed to ${api.name} ${api.version} with plan ${options.plan}.`,
    );
  });

program
  .command('unsubscribe <app> <api-path>')
  .description("end an application's subscription to an API")
  .action(async (app: string, apiArg: string, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const api = await apiAt(apiArg);
    await new ManagementClient(globals.endpoint).admin(
      'DELETE',
      `${subscriptionsOf(api.tenant, app)}/${encodeURIComponent(api.name)}/${api.version}`,
    );
    print(globals, { unsubscribed: api.id }, () => `${app} unsubscribed from ${api.name} ${api.version}.`);
  });

program
  .command('subscriptions <app>')
  .description("an application's subscriptions")
  .action(async (app: string, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin<{
      subscriptions: { apiId: string; plan: string; status: string }[];
    }>('GET', subscriptionsOf(globals.tenant, app));
    print(
      globals,
      result,
      () =>
        result.subscriptions.map((s) => `${s.apiId}  plan ${s.plan}  ${s.status}`).join('\n') ||
        'no subscriptions',
    );
  });

program
  .command('subscription <app> <api-path>')
  .description('change the plan of a subscription, block or unblock it')
  .option('--plan <plan>', 'another plan the API offers')
  .addOption(upperCaseChoice(new Option('--status <status>', 'block or unblock'), SUBSCRIPTION_STATUSES))
  .action(
    async (app: string, apiArg: string, options: { plan?: string; status?: string }, command: Command) => {
      const globals = globalsOf(command);
      const api = await apiAt(apiArg);
      const result = await new ManagementClient(globals.endpoint).admin<{ plan: string; status: string }>(
        'PATCH',
        `${subscriptionsOf(api.tenant, app)}/${encodeURIComponent(api.name)}/${api.version}`,
        {
          ...(options.plan ? { plan: options.plan } : {}),
          ...(options.status ? { status: options.status } : {}),
        },
      );
      print(
        globals,
        result,
        () => `${app} on ${api.name} ${api.version}: plan ${result.plan}, ${result.status}`,
      );
    },
  );

const plans = program.command('plans').description('business plans of a tenant (--tenant)');

plans
  .command('list')
  .description("the tenant's plans and the shipped defaults it has not replaced")
  .action(async (_options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const result = await new ManagementClient(globals.endpoint).admin<{
      plans: { name: string; events?: number; per?: string; maxConnections?: number; source: string }[];
    }>('GET', `/tenants/${globals.tenant}/plans`);
    print(globals, result, () =>
      result.plans
        .map(
          (p) =>
            `${p.name.padEnd(30)} ${p.events === undefined ? 'unlimited' : `${p.events} events/${p.per}`}${p.maxConnections ? `, ${p.maxConnections} connections` : ''}  (${p.source})`,
        )
        .join('\n'),
    );
  });

plans
  .command('set <name>')
  .description('create or replace a plan')
  .option('--events <n>', 'events (frames either way) per period; none: unlimited', positiveInteger)
  .addOption(new Option('--per <period>', 'the period of --events (default: day)').choices(PLAN_PERIODS))
  .option('--max-connections <n>', 'concurrent connections per subscription', positiveInteger)
  .option('--description <text>')
  .action(
    async (
      name: string,
      options: { events?: number; per?: string; maxConnections?: number; description?: string },
      command: Command,
    ) => {
      const globals = globalsOf(command);
      const result = await new ManagementClient(globals.endpoint).admin(
        'PUT',
        `/tenants/${globals.tenant}/plans/${encodeURIComponent(name)}`,
        {
          ...(options.events !== undefined ? { events: options.events, per: options.per ?? 'day' } : {}),
          ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
          ...(options.description ? { description: options.description } : {}),
        },
      );
      print(globals, result, () => `Plan ${name} saved: ${JSON.stringify(result)}`);
    },
  );

program
  .command('usage <app>')
  .description("an application's events against its plans in the current windows")
  .action(async (app: string, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
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
    }>('GET', `/tenants/${globals.tenant}/applications/${encodeURIComponent(app)}/usage`);
    print(
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
  });

// --- APIs

const apis = program.command('apis').description('the API definitions under apis/ and the deployed APIs');

apis
  .command('validate [folder]')
  .description('validate the definitions (default: apis/)')
  .action(async (folder: string | undefined, _options: unknown, command: Command) => {
    const catalog = await catalogAt(folder);
    print(
      globalsOf(command),
      { valid: true, apis: catalog.apis.length },
      () => `${catalog.apis.length} API definitions are valid.`,
    );
  });

apis
  .command('list [folder]')
  .description('the APIs defined (default: apis/), with their channels')
  .action(async (folder: string | undefined, _options: unknown, command: Command) => {
    const catalog = await catalogAt(folder);
    print(globalsOf(command), catalog.apis, () => catalog.apis.map(describeApi).join('\n'));
  });

apis
  .command('lifecycle')
  .description("show a deployed API's lifecycle state, or change it")
  .argument('<api-path>', 'e.g. /chats/1.0.0')
  .addArgument(upperCaseChoice(new Argument('[state]', 'the new state'), LIFECYCLE_STATES))
  .action(async (apiArg: string, state: string | undefined, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const api = await apiAt(apiArg);
    const client = new ManagementClient(globals.endpoint);
    const result = state
      ? await client.admin('PUT', `${adminApiPath(api)}/lifecycle`, { state })
      : await client.admin('GET', adminApiPath(api));
    print(globals, result, () => `${api.name} ${api.version}: ${result.lifecycle}`);
  });

apis
  .command('export <api-path>')
  .description("the deployed API's AsyncAPI document, for its consumers")
  .option('--yaml', 'YAML instead of JSON', false)
  .option('--out <file>', 'write it to a file')
  .action(async (apiArg: string, options: { yaml: boolean; out?: string }, command: Command) => {
    const globals = globalsOf(command);
    const api = await apiAt(apiArg);
    const document = await new ManagementClient(globals.endpoint).admin(
      'GET',
      `${adminApiPath(api)}/asyncapi`,
    );
    const text = options.yaml ? stringifyYaml(document) : `${JSON.stringify(document, null, 2)}\n`;
    if (options.out) {
      writeFileSync(options.out, text);
      process.stderr.write(`wrote the AsyncAPI document of ${api.name} ${api.version} to ${options.out}\n`);
    } else process.stdout.write(text);
  });

// --- backends

program
  .command('publish <api-path> <topic> <data>')
  .description('send a frame to every subscriber of a topic, as a backend would')
  .addHelpText('after', '\nExample:\n  streamgate publish /chats/1.0.0 /notifications "maintenance at 5"')
  .action(async (apiArg: string, topic: string, data: string, _options: unknown, command: Command) => {
    const globals = globalsOf(command);
    const api = await apiAt(apiArg);
    const result = await new ManagementClient(globals.endpoint).admin<{
      recipients: number;
      delivered: number;
    }>('POST', `${adminApiPath(api)}/publish`, { topic, data });
    print(globals, result, () => `delivered to ${result.delivered} of ${result.recipients} subscribers`);
  });

// --- the local stack

const local = program.command('local').description('the local stack started with `npm start`');

local
  .command('env')
  .description(
    'the environment the AWS CLI and SDKs need to reach the running local stack: its key, region and endpoints',
  )
  .addHelpText(
    'after',
    '\nThe local stack accepts its own key (allowed everything) and the keys it gives its functions (their roles);\n' +
      'any other key gets UnrecognizedClientException. Use:\n  eval "$(npx streamgate local env)"\n' +
      '  aws apigatewaymanagementapi get-connection --connection-id <id>',
  )
  .action(() => {
    const file = localEnvironmentFile(stateDir);
    if (!existsSync(file))
      throw new CliError(`no local stack is running with state in ${stateDir}: start it with \`npm start\``);
    const environment = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    const shown = Object.fromEntries(
      Object.entries(environment).filter(([name]) =>
        /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION|DEFAULT_REGION|ENDPOINT_URL_.+)$/.test(name),
      ),
    );
    process.stdout.write(
      `# the local stack's own key (LOCAL_CREDENTIALS ${LOCAL_CREDENTIALS.accessKeyId}): allowed everything locally\n${exportLines(shown)}\n`,
    );
  });

if (process.argv.length <= 2) program.help();
program.parseAsync(process.argv).then(
  () => process.exit(0),
  (error: unknown) => {
    if (error instanceof DefinitionError) {
      process.stderr.write(`${error.message}\n`);
    } else if (error instanceof CliError || isGatewayError(error)) {
      process.stderr.write(`streamgate: ${(error as Error).message}\n`);
    } else {
      process.stderr.write(`streamgate: ${(error as Error).stack ?? String(error)}\n`);
    }
    process.exit(1);
  },
);
