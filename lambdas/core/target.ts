import { type ApiDef, type Catalog, type ChannelDef, DEFAULT_TENANT, qualifiedContext } from './catalog.ts';
import {
  type CompiledTemplate,
  compileTemplate,
  isValidParameterValue,
  splitSegments,
} from './channel-template.ts';
import { badRequest, notFound } from './errors.ts';

/** What a connection URL points at: one topic instance of one channel of one API version. */
export interface Target {
  api: ApiDef;
  channel: ChannelDef;
  /** Parameter values, e.g. `{ roomID: 'room1' }`. */
  params: Record<string, string>;
  /** The channel path with the values filled in, e.g. `/rooms/room1`. */
  topic: string;
  /** Unique across tenants and APIs: `{tenant}{context}/{version}{topic}`. */
  topicKey: string;
  /** The connection named no version and reached the default version. */
  viaDefaultVersion: boolean;
}

/** A resolver built once per catalog (at cold start): templates are compiled a single time. */
export interface TargetResolver {
  resolve(path: string): Target;
  /** The API a path names (`/chats/1.0.0`, `/t/quantis.com/train/location`), ignoring any topic. */
  resolveApi(path: string): ApiDef;
  /** Resolve a topic path (e.g. `/rooms/room2`) within an API already known. */
  resolveTopic(api: ApiDef, topic: string): Target;
  /** Fill a channel's template with parameter values. */
  topicFor(api: ApiDef, channel: ChannelDef, params: Record<string, string>): Target;
}

const MAX_TARGET_LENGTH = 2048;

interface ApiCandidate {
  api: ApiDef;
  remainder: string[];
  versioned: boolean;
  contextLength: number;
}

export function topicKeyOf(api: ApiDef, topic: string): string {
  return `${qualifiedContext(api)}${topic === '/' ? '' : topic}`;
}

export function createTargetResolver(catalog: Catalog): TargetResolver {
  const templates = new Map<ChannelDef, CompiledTemplate>();
  for (const api of catalog.apis) {
    for (const channel of api.channels) templates.set(channel, compileTemplate(channel.name));
  }
  const templateOf = (channel: ChannelDef): CompiledTemplate => {
    const template = templates.get(channel);
    if (!template) throw new Error(`channel ${channel.name} is not in the catalog`);
    return template;
  };

  function matchChannel(api: ApiDef, topicPath: string, viaDefaultVersion: boolean): Target | undefined {
    let best: { channel: ChannelDef; params: Record<string, string>; specificity: number } | undefined;
    for (const channel of api.channels) {
      const template = templateOf(channel);
      const params = template.match(topicPath);
      if (!params) continue;
      if (!Object.values(params).every(isValidParameterValue)) continue;
      if (!best || template.specificity > best.specificity) {
        best = { channel, params, specificity: template.specificity };
      }
    }
    if (!best) return undefined;
    const template = templateOf(best.channel);
    const topic =
      template.parameters.length || !best.channel.name.endsWith('*') ? template.fill(best.params) : topicPath;
    return {
      api,
      channel: best.channel,
      params: best.params,
      topic,
      topicKey: topicKeyOf(api, topic),
      viaDefaultVersion,
    };
  }

  /** APIs a path may address, best first: one that names its version, then the longest context. */
  function apiCandidates(segments: string[]): ApiCandidate[] {
    let tenant = DEFAULT_TENANT;
    let rest = segments;
    if (segments[0] === 't' && segments.length >= 2) {
      tenant = (segments[1] as string).toLowerCase();
      rest = segments.slice(2);
    }
    const candidates: ApiCandidate[] = [];
    for (const api of catalog.apis) {
      if (api.tenant !== tenant) continue;
      const context = splitSegments(api.context);
      if (rest.length < context.length) continue;
      // Contexts compare without regard to case: WSO2's portal shows /SweetProdApp and invokes /sweetProdApp.
      if (!context.every((segment, i) => segment.toLowerCase() === rest[i]?.toLowerCase())) continue;
      const afterContext = rest.slice(context.length);
      if (afterContext[0] === api.version) {
        candidates.push({
          api,
          remainder: afterContext.slice(1),
          versioned: true,
          contextLength: context.length,
        });
      } else if (api.defaultVersion) {
        candidates.push({ api, remainder: afterContext, versioned: false, contextLength: context.length });
      }
    }
    candidates.sort((a, b) => Number(b.versioned) - Number(a.versioned) || b.contextLength - a.contextLength);
    if (candidates.length === 0) {
      throw notFound(`no API at ${displayPath(segments)}`, { path: displayPath(segments) });
    }
    return candidates;
  }

  return {
    resolve(rawPath: string): Target {
      const segments = decodeSegments(rawPath);
      const candidates = apiCandidates(segments);
      for (const candidate of candidates) {
        const topicPath = `/${candidate.remainder.join('/')}`;
        const target = matchChannel(candidate.api, topicPath, !candidate.versioned);
        if (target) return target;
      }
      const [best] = candidates as [ApiCandidate];
      const topicPath = `/${best.remainder.join('/')}`;
      throw notFound(`API ${best.api.name} ${best.api.version} has no topic ${topicPath}`, {
        api: best.api.name,
        version: best.api.version,
        topic: topicPath,
      });
    },

    resolveApi(rawPath: string): ApiDef {
      return (apiCandidates(decodeSegments(rawPath))[0] as ApiCandidate).api;
    },

    resolveTopic(api: ApiDef, topic: string): Target {
      const segments = decodeSegments(topic);
      const target = matchChannel(api, `/${segments.join('/')}`, false);
      if (!target) {
        throw notFound(`API ${api.name} ${api.version} has no topic ${topic}`, { topic });
      }
      return target;
    },

    topicFor(api: ApiDef, channel: ChannelDef, params: Record<string, string>): Target {
      const topic = templateOf(channel).fill(params);
      return { api, channel, params, topic, topicKey: topicKeyOf(api, topic), viaDefaultVersion: false };
    },
  };
}

function displayPath(segments: string[]): string {
  return `/${segments.join('/')}`;
}

/** Split a URL path into decoded segments, refusing what could escape or confuse a path. */
function decodeSegments(rawPath: string): string[] {
  if (rawPath.length > MAX_TARGET_LENGTH) throw badRequest('target path is too long');
  const withoutQuery = rawPath.split('?')[0] ?? '';
  return splitSegments(withoutQuery).map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw badRequest(`malformed percent-encoding in path segment "${segment}"`);
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('/')) {
      throw badRequest(`path segment "${segment}" is not allowed`);
    }
    return decoded;
  });
}
