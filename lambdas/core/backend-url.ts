/**
 * Where an http backend receives a published frame: the API's endpoint for the sender's key type
 * plus the channel's URL mapping, WSO2 style (`/rooms?room={uri.var.roomID}`). A channel without a
 * mapping posts to the endpoint as it is, as Choreo Connect does.
 */
import type { KeyType } from './auth.ts';
import type { ApiDef, ChannelDef } from './catalog.ts';
import { GatewayError } from './errors.ts';

/** The endpoint a key type reaches; SANDBOX keys need a sandbox endpoint (as in WSO2). */
export function endpointFor(api: ApiDef, keyType: KeyType | undefined): string {
  const endpoint = keyType === 'SANDBOX' ? api.endpoints.sandbox : api.endpoints.production;
  if (!endpoint) {
    throw new GatewayError(
      'not_found',
      `API ${api.name} ${api.version} has no ${keyType === 'SANDBOX' ? 'sandbox' : 'production'} endpoint; use ${keyType === 'SANDBOX' ? 'production' : 'sandbox'} keys or add servers.${keyType === 'SANDBOX' ? 'sandbox' : 'production'} to the definition`,
    );
  }
  return endpoint;
}

/** The endpoint with the mapping appended and each `{uri.var.NAME}` filled (URL-encoded). */
export function backendUrl(
  endpoint: string,
  channel: Pick<ChannelDef, 'uriMapping'>,
  params: Record<string, string>,
): string {
  if (!channel.uriMapping) return endpoint;
  const mapped = channel.uriMapping.replace(/\{uri\.var\.([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    // The definition loader checks every variable is a channel parameter; this is a safety net.
    if (value === undefined)
      throw new GatewayError('internal_error', `URL mapping variable ${name} has no value`);
    return encodeURIComponent(value);
  });
  const url = new URL(endpoint);
  const [mappedPath = '', mappedQuery] = splitOnce(mapped, '?');
  const basePath = url.pathname.replace(/\/+$/, '');
  url.pathname = `${basePath}${mappedPath.startsWith('/') || mappedPath === '' ? '' : '/'}${mappedPath}`;
  // The mapping's query joins the endpoint's, as written (values are already encoded).
  if (mappedQuery) url.search = url.search ? `${url.search}&${mappedQuery}` : `?${mappedQuery}`;
  return url.toString();
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}
