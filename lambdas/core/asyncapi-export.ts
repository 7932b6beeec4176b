/**
 * The AsyncAPI document of a deployed API, as its consumers need it (the service catalog step of
 * the seeds): the definition as written, with the servers clients connect to (the edge and the
 * stage), the OAuth2 client-credentials scheme of streamgate's token endpoint, and without what
 * only the gateway needs (backends, Kafka bindings, URL mappings, streamgate's own settings).
 */
import { type ApiDef, apiPath } from './catalog.ts';

export interface PublicUrls {
  /** `wss://d111.cloudfront.net`: API paths at the edge (absent without the edge). */
  edge?: string;
  /** `wss://abc.execute-api.eu-west-1.amazonaws.com/prod`: the stage, with `?target=`. */
  stage: string;
  /** The token endpoint of the issuer. */
  token: string;
}

type Json = Record<string, unknown>;

/** Extensions and bindings that describe the gateway's side, not the API's. */
const INTERNAL_KEYS = new Set([
  'x-streamgate',
  'x-streamgate-backend',
  'x-streamgate-source',
  'x-uri-mapping',
]);

export function exportAsyncApi(document: unknown, api: ApiDef, urls: PublicUrls): Json {
  const doc = withoutInternals(structuredClone(document)) as Json;
  const path = apiPath(api);
  const security = api.secured ? [{ oauth2: [] }] : undefined;
  const servers: Json = {};
  if (urls.edge) {
    servers.production = {
      url: `${urls.edge.replace(/\/$/, '')}${path}`,
      protocol: 'wss',
      description: `Connect to a channel by appending its path, e.g. ${urls.edge.replace(/\/$/, '')}${path}${firstChannel(api)}`,
      ...(security ? { security } : {}),
    };
  }
  servers.stage = {
    url: urls.stage,
    protocol: 'wss',
    description: `The API Gateway stage: name the channel in the target query parameter, e.g. ${urls.stage}?target=${encodeURIComponent(`${path}${firstChannel(api)}`)}`,
    ...(security ? { security } : {}),
  };
  doc.servers = servers;

  const components = (doc.components ?? {}) as Json;
  const schemes = (components.securitySchemes ?? {}) as Json;
  if (api.secured) {
    const scopes = [...new Set(api.channels.flatMap((c) => [...c.pubScopes, ...c.subScopes]))].sort();
    schemes.oauth2 = {
      type: 'oauth2',
      description: `OAuth2 access token of a subscribed application, as a Bearer header or the access_token query parameter`,
      flows: {
        clientCredentials: {
          tokenUrl: urls.token,
          scopes: Object.fromEntries(
            scopes.map((scope) => [scope, `Needed by channels that require ${scope}`]),
          ),
        },
      },
    };
    components.securitySchemes = schemes;
    doc.components = components;
  }
  return doc;
}

function firstChannel(api: ApiDef): string {
  const channel = api.channels[0]?.name ?? '/';
  return channel === '/' ? '' : channel;
}

/** Drops streamgate's and WSO2's gateway-side extensions, and Kafka bindings, at every depth. */
function withoutInternals(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutInternals);
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, child] of Object.entries(value as Json)) {
    if (INTERNAL_KEYS.has(key)) continue;
    if (key === 'bindings' && child && typeof child === 'object') {
      const { kafka: _kafka, ...others } = child as Json;
      if (Object.keys(others).length) out[key] = withoutInternals(others);
      continue;
    }
    out[key] = withoutInternals(child);
  }
  return out;
}
