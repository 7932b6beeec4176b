/**
 * Reads the AsyncAPI documents under `apis/`, validates them with the official `@asyncapi/parser`
 * plus streamgate's and WSO2's extensions, and compiles them into the catalog the Lambdas use.
 * Every problem names the file, the JSONPath and the line.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type AsyncAPIDocumentInterface,
  type ChannelInterface,
  DiagnosticSeverity,
  type OperationInterface,
  Parser,
} from '@asyncapi/parser';
import { parse as parseYaml } from 'yaml';
import {
  type ApiDef,
  type Catalog,
  type ChannelBackend,
  type ChannelDef,
  DEFAULT_TENANT,
  type KafkaParameterSource,
  LIFECYCLE_STATES,
  type LifecycleState,
  type MessageFormat,
  qualifiedContext,
} from '../../lambdas/core/catalog.ts';
import { templateParameters } from '../../lambdas/core/channel-template.ts';
import { parseSiddhi, SiddhiError, type TransformDef } from '../../lambdas/core/transform/siddhi.ts';
import {
  DefinitionError,
  type DefinitionProblem,
  pointerToSegments,
  SourceLocator,
  toJsonPath,
} from './problems.ts';

export const DEFINITION_EXTENSIONS = ['.yaml', '.yml', '.json'];

const CONTEXT_PATTERN = /^(\/[A-Za-z0-9._~-]+)+$/;
const TENANT_PATTERN = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const VERSION_PATTERN = /^[A-Za-z0-9._-]+$/;
const KAFKA_TOPIC_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;
const PLAN_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const SCOPE_PATTERN = /^[\x21\x23-\x5B\x5D-\x7E]+$/; // RFC 6749 scope-token
const API_EXTENSION_KEYS = [
  'context',
  'tenant',
  'defaultVersion',
  'lifecycle',
  'security',
  'plans',
  'backend',
];

type Segments = (string | number)[];

/** Collects problems for one file, each with its JSONPath and line. */
class FileProblems {
  readonly list: DefinitionProblem[] = [];
  constructor(
    readonly file: string,
    private readonly locator: SourceLocator,
    /** The project folder that handler modules are named from. */
    readonly root: string,
  ) {}

  add(segments: Segments, message: string): void {
    const line = this.locator.lineOf(segments);
    this.list.push({ file: this.file, path: toJsonPath(segments), ...(line ? { line } : {}), message });
  }
}

let sharedParser: Parser | undefined;
function parser(): Parser {
  sharedParser ??= new Parser();
  return sharedParser;
}

/** Load every definition in a folder; throws DefinitionError listing every problem found. */
export async function loadCatalog(dir: string, options: { displayRoot?: string } = {}): Promise<Catalog> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => DEFINITION_EXTENSIONS.includes(path.extname(n))).sort();
  } catch (error) {
    throw new DefinitionError([
      {
        file: dir,
        path: '$',
        message: `cannot read the API definitions folder: ${(error as Error).message}`,
      },
    ]);
  }
  const displayRoot = options.displayRoot ?? process.cwd();
  const results = await Promise.all(
    names.map((name) =>
      loadDefinitionFile(path.join(dir, name), path.relative(displayRoot, path.join(dir, name)), displayRoot),
    ),
  );
  const problems = results.flatMap((r) => r.problems);
  const apis = results.flatMap((r) => (r.api ? [r.api] : []));
  problems.push(...catalogProblems(apis));
  if (problems.length) throw new DefinitionError(problems);
  const documents = Object.fromEntries(results.flatMap((r) => (r.api ? [[r.api.id, r.document]] : [])));
  return { apis, documents };
}

export async function loadDefinitionFile(
  file: string,
  displayName: string = file,
  root: string = process.cwd(),
): Promise<{ api?: ApiDef; document?: unknown; problems: DefinitionProblem[] }> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    return {
      problems: [{ file: displayName, path: '$', message: `cannot read: ${(error as Error).message}` }],
    };
  }
  return parseDefinition(source, displayName, root);
}

/** Parse and validate one definition held in memory. */
export async function parseDefinition(
  source: string,
  displayName: string,
  root: string = process.cwd(),
): Promise<{ api?: ApiDef; document?: unknown; problems: DefinitionProblem[] }> {
  const problems = new FileProblems(displayName, new SourceLocator(source), root);
  const { document, diagnostics } = await parser().parse(source, { source: displayName });
  const seen = new Set<string>();
  for (const d of diagnostics) {
    if (d.severity !== DiagnosticSeverity.Error) continue;
    const key = `${d.path.join('/')}|${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.list.push({
      file: displayName,
      path: toJsonPath(d.path),
      line: d.range.start.line + 1,
      message: d.message,
    });
  }
  if (!document || problems.list.length) return { problems: problems.list };
  const api = compileApi(document, displayName, problems);
  return problems.list.length
    ? { problems: problems.list }
    : { api, document: parseYaml(source), problems: [] };
}

function compileApi(doc: AsyncAPIDocumentInterface, source: string, problems: FileProblems): ApiDef {
  const name = doc.info().title();
  const version = doc.info().version();
  if (!VERSION_PATTERN.test(version)) {
    problems.add(['info', 'version'], `version "${version}" may hold only letters, digits, '.', '_' and '-'`);
  }
  const declared = doc.extensions().get('x-streamgate')?.value();
  const ext = objectExtension(declared, ['x-streamgate'], problems);
  for (const key of Object.keys(ext)) {
    if (!API_EXTENSION_KEYS.includes(key)) {
      problems.add(
        ['x-streamgate', key],
        `unknown property; expected one of ${API_EXTENSION_KEYS.join(', ')}`,
      );
    }
  }

  const context = ext.context;
  if (declared === undefined) {
    // reported once, above
  } else if (typeof context !== 'string' || !CONTEXT_PATTERN.test(context)) {
    problems.add(
      ['x-streamgate', 'context'],
      context === undefined
        ? 'required: the URL context of the API, e.g. /chats'
        : `context must look like /chats or /train/location (got ${JSON.stringify(context)})`,
    );
  } else if (context.toLowerCase().startsWith('/t/')) {
    problems.add(
      ['x-streamgate', 'context'],
      'context must not start with /t/ (set x-streamgate.tenant instead)',
    );
  }
  const tenant = ext.tenant ?? DEFAULT_TENANT;
  if (typeof tenant !== 'string' || !TENANT_PATTERN.test(tenant)) {
    problems.add(['x-streamgate', 'tenant'], `tenant must be a lower-case domain such as quantis.com`);
  }
  const defaultVersion = ext.defaultVersion ?? false;
  if (typeof defaultVersion !== 'boolean')
    problems.add(['x-streamgate', 'defaultVersion'], 'must be true or false');
  const lifecycle = ext.lifecycle ?? 'PUBLISHED';
  if (!LIFECYCLE_STATES.includes(lifecycle as LifecycleState)) {
    problems.add(['x-streamgate', 'lifecycle'], `must be one of ${LIFECYCLE_STATES.join(', ')}`);
  }
  const security = ext.security ?? 'oauth2';
  if (security !== 'oauth2' && security !== 'none') {
    problems.add(['x-streamgate', 'security'], 'must be oauth2 or none');
  }
  const plans = stringList(
    ext.plans ?? ['AsyncUnlimited'],
    ['x-streamgate', 'plans'],
    problems,
    PLAN_PATTERN,
  );
  if (plans.length === 0) problems.add(['x-streamgate', 'plans'], 'an API offers at least one business plan');

  const endpoints: ApiDef['endpoints'] = {};
  for (const server of doc.servers().all()) {
    if (server.id() === 'production' || server.id() === 'sandbox')
      endpoints[server.id() as 'production'] = server.url();
  }

  const apiDefaultBackend = ext.backend;
  const channels: ChannelDef[] = [];
  for (const channel of doc.channels().all()) {
    const compiled = compileChannel(doc, channel, apiDefaultBackend, endpoints, problems);
    if (compiled) channels.push(compiled);
  }
  if (channels.length === 0 && doc.channels().all().length === 0) {
    problems.add(['channels'], 'an API needs at least one channel (topic)');
  }

  return {
    id: `${tenant}/${name}/${version}`,
    name,
    version,
    context: typeof context === 'string' ? context : '/',
    tenant: typeof tenant === 'string' ? tenant : DEFAULT_TENANT,
    defaultVersion: defaultVersion === true,
    lifecycle: lifecycle as LifecycleState,
    secured: security !== 'none',
    plans,
    endpoints,
    channels,
    ...(doc.info().description() ? { description: doc.info().description() } : {}),
    source,
  };
}

function compileChannel(
  doc: AsyncAPIDocumentInterface,
  channel: ChannelInterface,
  apiDefaultBackend: unknown,
  endpoints: ApiDef['endpoints'],
  problems: FileProblems,
): ChannelDef | undefined {
  const at = pointerToSegments(channel.meta().pointer);
  const address = channel.address() ?? channel.id();
  if (!address.startsWith('/')) {
    problems.add(at, `channel address "${address}" must start with /`);
    return undefined;
  }
  const templateParams = templateParameters(address);
  const declared = channel
    .parameters()
    .all()
    .map((p) => p.id());
  for (const p of templateParams) {
    if (!declared.includes(p))
      problems.add([...at, 'parameters'], `parameter {${p}} of ${address} is not declared`);
  }

  const operations = channel.operations().all();
  const pubOps = operations.filter((op) => op.isReceive()); // the API receives what clients publish
  const subOps = operations.filter((op) => op.isSend()); // the API sends what clients subscribe to
  if (operations.length === 0) {
    problems.add(at, 'a channel needs a publish or a subscribe operation (pub or sub)');
    return undefined;
  }
  const scopesOf = (ops: typeof operations) =>
    ops.flatMap((op) => {
      const value = op.extensions().get('x-scopes')?.value();
      if (value === undefined) return [];
      return stringList(
        value,
        [...pointerToSegments(op.meta().pointer), 'x-scopes'],
        problems,
        SCOPE_PATTERN,
      );
    });

  // WSO2 puts x-uri-mapping on the operations and lets publish win (Choreo Connect does the same).
  let uriMapping: string | undefined;
  for (const op of [...pubOps, ...subOps]) {
    const value = op.extensions().get('x-uri-mapping')?.value();
    if (value === undefined) continue;
    if (typeof value !== 'string' || !value.startsWith('/')) {
      problems.add(
        [...pointerToSegments(op.meta().pointer), 'x-uri-mapping'],
        'must be a path starting with /',
      );
      continue;
    }
    uriMapping ??= value;
  }
  const channelMapping = channel.extensions().get('x-uri-mapping')?.value();
  if (uriMapping === undefined && typeof channelMapping === 'string') uriMapping = channelMapping;
  if (uriMapping) {
    for (const m of uriMapping.matchAll(/\{uri\.var\.([^}]+)\}/g)) {
      if (!templateParams.includes(m[1] as string)) {
        problems.add([...at], `x-uri-mapping uses {uri.var.${m[1]}} but ${address} has no such parameter`);
      }
    }
  }

  const authType = channel.extensions().get('x-auth-type')?.value();
  if (authType !== undefined && !['any', 'none'].includes(String(authType).toLowerCase())) {
    problems.add([...at, 'x-auth-type'], 'x-auth-type must be Any or None');
  }

  const format = channelFormat(doc, [...subOps, ...pubOps], at, problems);
  const backend = channelBackend(channel, templateParams, apiDefaultBackend, endpoints, format, at, problems);
  if (backend?.type === 'kafka' && format && (backend.transform?.input ?? format) !== 'json') {
    for (const [name, source] of Object.entries(backend.parameters)) {
      if (source.from === 'value') {
        problems.add(
          [...at, 'parameters', name],
          `a field of the value fills ${name}, so the channel's messages must be JSON`,
        );
      }
    }
  }
  if (!backend || !format) return undefined;

  return {
    name: address,
    pub: pubOps.length > 0,
    sub: subOps.length > 0,
    pubScopes: [...new Set(scopesOf(pubOps))],
    subScopes: [...new Set(scopesOf(subOps))],
    format,
    backend,
    ...(uriMapping ? { uriMapping } : {}),
    ...(String(authType ?? '').toLowerCase() === 'none' ? { open: true } : {}),
  };
}

function channelFormat(
  doc: AsyncAPIDocumentInterface,
  ops: OperationInterface[],
  at: Segments,
  problems: FileProblems,
): MessageFormat | undefined {
  const contentTypes = new Set<string>();
  for (const op of ops) {
    for (const message of op.messages().all()) {
      const type = message.contentType() ?? doc.defaultContentType();
      if (type) contentTypes.add(type.toLowerCase());
    }
  }
  if (contentTypes.size === 0 && doc.defaultContentType())
    contentTypes.add(doc.defaultContentType() as string);
  const formats = new Set([...contentTypes].map(formatOfContentType));
  if (formats.has(undefined)) {
    problems.add(
      at,
      `unsupported message contentType (${[...contentTypes].join(', ')}); use JSON, XML or text`,
    );
    return undefined;
  }
  if (formats.size > 1) {
    problems.add(at, `the channel's messages mix formats (${[...contentTypes].join(', ')}); use one`);
    return undefined;
  }
  return ([...formats][0] as MessageFormat | undefined) ?? 'text';
}

export function formatOfContentType(contentType: string): MessageFormat | undefined {
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (type === 'application/json' || type.endsWith('+json')) return 'json';
  if (type === 'application/xml' || type === 'text/xml' || type.endsWith('+xml')) return 'xml';
  if (type.startsWith('text/')) return 'text';
  return undefined;
}

function channelBackend(
  channel: ChannelInterface,
  templateParams: string[],
  apiDefault: unknown,
  endpoints: ApiDef['endpoints'],
  format: MessageFormat | undefined,
  at: Segments,
  problems: FileProblems,
): ChannelBackend | undefined {
  const kafkaBinding = channel.bindings().get('kafka')?.value() as { topic?: unknown } | undefined;
  const declared = channel.extensions().get('x-streamgate-backend')?.value();
  const where: Segments =
    declared !== undefined ? [...at, 'x-streamgate-backend'] : ['x-streamgate', 'backend'];
  let spec = declared ?? (kafkaBinding ? { type: 'kafka' } : (apiDefault ?? 'fanout'));
  if (typeof spec === 'string') spec = { type: spec };
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    problems.add(where, 'a backend is a type name (fanout, kafka) or an object with a type');
    return undefined;
  }
  const { type, ...options } = spec as Record<string, unknown>;
  switch (type) {
    case 'fanout':
      rejectUnknown(options, [], where, problems);
      return { type: 'fanout' };
    case 'kafka': {
      rejectUnknown(options, ['topic', 'coalesce', 'transform', 'batchingWindowSeconds'], where, problems);
      const transform =
        options.transform === undefined
          ? undefined
          : compileTransform(options.transform, format, [...where, 'transform'], problems);
      const topic = options.topic ?? kafkaBinding?.topic;
      if (typeof topic !== 'string' || !KAFKA_TOPIC_PATTERN.test(topic)) {
        problems.add(
          topic === undefined ? [...at, 'bindings', 'kafka'] : where,
          topic === undefined
            ? 'a Kafka-bound channel names its topic (bindings.kafka.topic or x-streamgate-backend.topic)'
            : `Kafka topic ${JSON.stringify(topic)} may hold only letters, digits, '.', '_' and '-' (1-249)`,
        );
        return undefined;
      }
      if (options.coalesce !== undefined && typeof options.coalesce !== 'boolean') {
        problems.add([...where, 'coalesce'], 'must be true or false');
      }
      const window = options.batchingWindowSeconds;
      if (
        window !== undefined &&
        !(Number.isInteger(window) && (window as number) >= 0 && (window as number) <= 300)
      ) {
        problems.add([...where, 'batchingWindowSeconds'], 'must be a whole number of seconds from 0 to 300');
      }
      const parameters: Record<string, KafkaParameterSource> = {};
      for (const param of channel.parameters().all()) {
        const source = kafkaParameterSource(
          param.location(),
          param.extensions().get('x-streamgate-source')?.value(),
        );
        const paramAt = pointerToSegments(param.meta().pointer);
        if (typeof source === 'string') problems.add(paramAt, source);
        else parameters[param.id()] = source;
      }
      for (const p of templateParams) {
        if (!parameters[p] && !problems.list.some((x) => x.path.includes(`parameters.${p}`))) {
          problems.add([...at, 'parameters'], `parameter ${p} needs a source in the Kafka record`);
        }
      }
      return {
        type: 'kafka',
        topic,
        parameters,
        coalesce: options.coalesce === true,
        ...(typeof window === 'number' ? { batchingWindowSeconds: window } : {}),
        ...(transform ? { transform } : {}),
      };
    }
    case 'http': {
      rejectUnknown(options, ['timeoutMs'], where, problems);
      const timeoutMs = options.timeoutMs ?? 10_000;
      if (
        typeof timeoutMs !== 'number' ||
        !Number.isInteger(timeoutMs) ||
        timeoutMs < 100 ||
        timeoutMs > 25_000
      ) {
        problems.add([...where, 'timeoutMs'], 'must be a whole number of milliseconds from 100 to 25000');
      }
      for (const [environment, url] of Object.entries(endpoints)) {
        if (url !== undefined && !/^https?:\/\//.test(url)) {
          problems.add(
            ['servers', environment, 'url'],
            `the http backend POSTs frames: the ${environment} endpoint must be an http(s) URL (got ${url})`,
          );
        }
      }
      // A sandbox-only API is valid: it serves SANDBOX keys only (core/auth.ts requireKeyTypeServed).
      if (!endpoints.production && !endpoints.sandbox) {
        problems.add(
          ['servers'],
          'an http backend needs servers.production or servers.sandbox with the backend URL',
        );
      }
      return { type: 'http', timeoutMs: timeoutMs as number };
    }
    case 'handler': {
      rejectUnknown(options, ['handler'], where, problems);
      const handler = options.handler;
      if (typeof handler !== 'string' || !/^[A-Za-z0-9._/-]+$/.test(handler) || handler.includes('..')) {
        problems.add([...where, 'handler'], 'names the handler module folder, e.g. examples/chat-backend');
        return undefined;
      }
      if (
        !['index.ts', 'index.js', 'index.mjs'].some((f) => existsSync(path.join(problems.root, handler, f)))
      ) {
        problems.add([...where, 'handler'], `no handler module at ${handler}/index.ts`);
        return undefined;
      }
      return { type: 'handler', handler };
    }
    default:
      problems.add(
        where,
        `unknown backend type ${JSON.stringify(type)}; expected fanout, kafka, http or handler`,
      );
      return undefined;
  }
}

/** `transform: { siddhi: <define stream …; from … insert into …;>, input: xml|json|text }`. */
function compileTransform(
  spec: unknown,
  format: MessageFormat | undefined,
  where: Segments,
  problems: FileProblems,
): TransformDef | undefined {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    problems.add(
      where,
      'a transform is an object: { siddhi: "define stream …; from … insert into …;", input: xml }',
    );
    return undefined;
  }
  const { siddhi, input = format ?? 'json', ...rest } = spec as Record<string, unknown>;
  rejectUnknown(rest, [], where, problems);
  if (!['json', 'xml', 'text'].includes(input as string)) {
    problems.add([...where, 'input'], 'input is json, xml or text: how the Kafka records are read');
    return undefined;
  }
  if (typeof siddhi !== 'string') {
    problems.add([...where, 'siddhi'], 'needs the Siddhi stream definition and query');
    return undefined;
  }
  try {
    return parseSiddhi(siddhi, input as TransformDef['input']);
  } catch (error) {
    if (!(error instanceof SiddhiError)) throw error;
    problems.add([...where, 'siddhi'], error.message);
    return undefined;
  }
}

/**
 * A Kafka-bound channel's parameter is filled from the record key, a header or a field of the value:
 * AsyncAPI's own `location` (`$message.header#/name`, `$message.payload#/pointer`) or
 * `x-streamgate-source: key | header:<name> | value:<json-pointer>`. Returns a message when invalid.
 */
export function kafkaParameterSource(
  location: string | undefined,
  extension: unknown,
): KafkaParameterSource | string {
  if (extension !== undefined) {
    if (typeof extension !== 'string')
      return 'x-streamgate-source must be key, header:<name> or value:<json-pointer>';
    if (extension === 'key') return { from: 'key' };
    if (extension.startsWith('header:') && extension.length > 7)
      return { from: 'header', name: extension.slice(7) };
    if (extension.startsWith('value:/') || extension === 'value:') {
      return { from: 'value', pointer: extension.slice(6) };
    }
    return `x-streamgate-source "${extension}" must be key, header:<name> or value:<json-pointer>`;
  }
  if (location) {
    const header = /^\$message\.header#\/(.+)$/.exec(location);
    if (header) return { from: 'header', name: header[1] as string };
    const payload = /^\$message\.payload#(\/.*)?$/.exec(location);
    if (payload) return { from: 'value', pointer: payload[1] ?? '' };
    return `location "${location}" must be $message.header#/<name> or $message.payload#/<pointer>`;
  }
  return 'needs a source in the Kafka record: x-streamgate-source: key, or a location';
}

function rejectUnknown(
  options: Record<string, unknown>,
  allowed: string[],
  where: Segments,
  problems: FileProblems,
) {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      problems.add(
        [...where, key],
        `unknown property${allowed.length ? `; expected ${allowed.join(', ')}` : ''}`,
      );
    }
  }
}

function objectExtension(value: unknown, at: Segments, problems: FileProblems): Record<string, unknown> {
  if (value === undefined) {
    problems.add(
      at,
      'required: x-streamgate with at least the context, e.g. x-streamgate: { context: /chats }',
    );
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.add(at, 'must be an object');
    return {};
  }
  return value as Record<string, unknown>;
}

function stringList(value: unknown, at: Segments, problems: FileProblems, pattern: RegExp): string[] {
  if (!Array.isArray(value)) {
    problems.add(at, 'must be a list of strings');
    return [];
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    if (typeof item !== 'string' || !pattern.test(item)) {
      problems.add([...at, i], `${JSON.stringify(item)} is not a valid name`);
    } else {
      out.push(item);
    }
  });
  return out;
}

/** Problems that only show across files: duplicates and ambiguous URLs. */
function catalogProblems(apis: ApiDef[]): DefinitionProblem[] {
  const problems: DefinitionProblem[] = [];
  const byKey = new Map<string, ApiDef>();
  const defaults = new Map<string, ApiDef>();
  for (const api of apis) {
    const key = qualifiedContext(api).toLowerCase();
    const other = byKey.get(key);
    if (other) {
      problems.push({
        file: api.source,
        path: "$['x-streamgate'].context",
        message: `${api.tenant}${api.context} ${api.version} is already defined by ${other.source}`,
      });
    }
    byKey.set(key, api);
    if (api.defaultVersion) {
      const contextKey = `${api.tenant}${api.context}`.toLowerCase();
      const previous = defaults.get(contextKey);
      if (previous) {
        problems.push({
          file: api.source,
          path: "$['x-streamgate'].defaultVersion",
          message: `${api.context} already has a default version (${previous.version} in ${previous.source})`,
        });
      }
      defaults.set(contextKey, api);
    }
  }
  return problems;
}
