/**
 * Runs the CloudFront Function from the synthesized template (the very source deployed to the
 * edge) on a viewer request, in a sandbox shaped like CloudFront's event.
 */
import vm from 'node:vm';

export interface ViewerRequest {
  uri: string;
  /** Raw (still percent-encoded) query string without `?`. */
  querystring: string;
  headers: Record<string, string>;
  method: string;
  clientIp: string;
}

type CfQueryValue = { value: string; multiValue?: { value: string }[] };

export class EdgeFunction {
  private readonly handler: (event: unknown) => unknown;

  constructor(source: string) {
    const context = vm.createContext({});
    vm.runInContext(`${source}\n;globalThis.__handler = handler;`, context, { timeout: 100 });
    this.handler = (context as { __handler: (event: unknown) => unknown }).__handler;
    if (typeof this.handler !== 'function') throw new Error('the CloudFront Function defines no handler');
  }

  /** The request as the origin receives it: new uri and raw query string. */
  viewerRequest(request: ViewerRequest): { uri: string; querystring: string } {
    const querystring: Record<string, CfQueryValue> = {};
    for (const pair of request.querystring.split('&').filter(Boolean)) {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      const value = eq < 0 ? '' : pair.slice(eq + 1);
      const existing = querystring[name];
      if (!existing) querystring[name] = { value };
      else existing.multiValue = [...(existing.multiValue ?? [{ value: existing.value }]), { value }];
    }
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), { value }]),
    );
    const event = {
      version: '1.0',
      context: { eventType: 'viewer-request', distributionDomainName: 'localhost', requestId: 'local' },
      viewer: { ip: request.clientIp },
      request: { method: request.method, uri: request.uri, querystring, headers, cookies: {} },
    };
    const result = this.handler(event) as { uri: string; querystring: Record<string, CfQueryValue> | string };
    const query =
      typeof result.querystring === 'string'
        ? result.querystring
        : Object.entries(result.querystring)
            .flatMap(([name, entry]) =>
              (entry.multiValue ?? [{ value: entry.value }]).map(({ value }) =>
                value === '' ? name : `${name}=${value}`,
              ),
            )
            .join('&');
    return { uri: result.uri, querystring: query };
  }
}
