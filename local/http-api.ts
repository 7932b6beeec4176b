/**
 * The local API Gateway for the template's HTTP API (payload format 2.0): route keys such as
 * `POST /oauth2/token`, `GET /.well-known/{document}`, `ANY /{proxy+}` and `$default`, Lambda proxy
 * responses, stage throttling (the stage default, and each route's own where the stage's
 * `RouteSettings` set one, as API Gateway enforces them). The local stack's own endpoints (health) are added in front.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decodablePath } from '../lambdas/shared/http.ts';
import { requestTime } from './gateway/events.ts';
import { type LocalCredentials, verifySigV4 } from './gateway/sigv4.ts';
import { TokenBucket } from './gateway/token-bucket.ts';
import type { LambdaRuntime } from './lambda/runtime.ts';
import type { LogSink } from './log.ts';
import type { LocalHttpApi } from './template.ts';

export type LocalRouteHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
) => Promise<void> | void;

interface CompiledRoute {
  method: string;
  key: string;
  regex: RegExp | undefined;
  params: string[];
  functionId: string | undefined;
  iam: boolean;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript)|[^;]*\+(json|xml))/i;
const MAX_BODY = 10 * 1024 * 1024;

export class HttpApiServer {
  private server: Server | undefined;
  private readonly routes: CompiledRoute[];
  private readonly bucket: TokenBucket | undefined;
  private readonly routeBuckets = new Map<string, TokenBucket>();
  private readonly localRoutes = new Map<string, LocalRouteHandler>();

  constructor(
    private readonly options: {
      api: LocalHttpApi | undefined;
      lambda: LambdaRuntime;
      log: LogSink;
      host: string;
      port: number;
      credentials: LocalCredentials;
    },
  ) {
    this.routes = (options.api?.routes ?? []).map(compileRoute);
    this.bucket = options.api?.throttle
      ? new TokenBucket(options.api.throttle.rateLimit, options.api.throttle.burstLimit)
      : undefined;
    for (const [key, limit] of Object.entries(options.api?.routeThrottles ?? {})) {
      this.routeBuckets.set(key, new TokenBucket(limit.rateLimit, limit.burstLimit));
    }
  }

  /**
   * The bucket a route's request takes from: the route's own where the stage's `RouteSettings`
   * throttle it (so public documents never spend the token endpoint's budget), else the stage's
   * default, which the routes without settings share.
   */
  private bucketOf(routeKey: string): TokenBucket | undefined {
    return this.routeBuckets.get(routeKey) ?? this.bucket;
  }

  /** A local-only endpoint such as `GET /health`, answered before the API's routes. */
  addLocalRoute(method: string, path: string, handler: LocalRouteHandler): void {
    this.localRoutes.set(`${method} ${path}`, handler);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        this.options.log.error('http-api', 'request failed', { error: error.message });
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Internal Server Error' }));
      });
    });
    this.server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port, this.options.host, () => resolve());
    });
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) return json(res, 413, { message: 'Request Entity Too Large' });
      chunks.push(chunk as Buffer);
    }
    const body = Buffer.concat(chunks);

    const local = this.localRoutes.get(`${method} ${url.pathname}`);
    if (local) return local(req, res, body);

    // API Gateway answers a path whose percent-escapes do not decode with 400, before any route.
    if (!decodablePath(url.pathname)) return json(res, 400, { message: 'Bad Request' });
    const match = this.match(method, url.pathname);
    if (!match?.route.functionId) return json(res, 404, { message: 'Not Found' });
    const bucket = this.bucketOf(match.route.key);
    if (bucket && !bucket.take()) return json(res, 429, { message: 'Too Many Requests' });
    let iamIdentity: Record<string, string> | undefined;
    if (match.route.iam) {
      // IAM authorization: a valid SigV4 signature with the stack's credentials, as AWS checks it.
      const check = await verifySigV4(
        { method, rawPath: url.pathname, query: url.searchParams, headers: req.headers, body },
        this.options.credentials,
      );
      if (!check.ok || check.unsigned) return json(res, 403, { message: 'Forbidden' });
      iamIdentity = {
        accessKey: this.options.credentials.accessKeyId,
        accountId: '000000000000',
        callerId: 'local',
        userArn: 'arn:aws:iam::000000000000:user/local',
        userId: 'local',
      };
    }

    const contentType = String(req.headers['content-type'] ?? '');
    const textual = body.length === 0 || TEXT_TYPES.test(contentType);
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
    );
    const query = [...new Set(url.searchParams.keys())];
    const now = Date.now();
    const event = {
      version: '2.0',
      routeKey: match.route.key,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(query.length
        ? {
            queryStringParameters: Object.fromEntries(
              query.map((k) => [k, url.searchParams.getAll(k).join(',')]),
            ),
          }
        : {}),
      ...(Object.keys(match.params).length ? { pathParameters: match.params } : {}),
      requestContext: {
        accountId: '000000000000',
        apiId: this.options.api?.apiId ?? 'local',
        domainName: req.headers.host ?? 'localhost',
        domainPrefix: (req.headers.host ?? 'localhost').split('.')[0],
        http: {
          method,
          path: url.pathname,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
          userAgent: req.headers['user-agent'] ?? '',
        },
        requestId: randomUUID(),
        routeKey: match.route.key,
        ...(iamIdentity ? { authorizer: { iam: iamIdentity } } : {}),
        stage: '$default',
        time: requestTime(new Date(now)),
        timeEpoch: now,
      },
      ...(body.length ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
      isBase64Encoded: !textual,
    };
    let result: unknown;
    try {
      result = await this.options.lambda.invoke(match.route.functionId, event);
    } catch (error) {
      this.options.log.error('http-api', `${match.route.key} failed`, { error: (error as Error).message });
      return json(res, 500, { message: 'Internal Server Error' });
    }
    writeProxyResult(res, result);
  }

  private match(
    method: string,
    path: string,
  ): { route: CompiledRoute; params: Record<string, string> } | undefined {
    let fallback: CompiledRoute | undefined;
    for (const route of this.routes) {
      if (route.key === '$default') {
        fallback = route;
        continue;
      }
      if (route.method !== 'ANY' && route.method !== method) continue;
      const m = route.regex?.exec(path);
      if (!m) continue;
      const params = Object.fromEntries(
        route.params.map((name, i) => [name, decodeURIComponent(m[i + 1] as string)]),
      );
      return { route, params };
    }
    return fallback ? { route: fallback, params: {} } : undefined;
  }
}

function compileRoute(route: LocalHttpApi['routes'][number]): CompiledRoute {
  if (route.path === '$default') {
    return {
      method: 'ANY',
      key: '$default',
      regex: undefined,
      params: [],
      functionId: route.functionId,
      iam: route.iam,
    };
  }
  const params: string[] = [];
  const pattern = route.path.replace(/[.*+?^$()|[\]\\]|\{([^}]+)\}/g, (token, name?: string) => {
    if (!name) return `\\${token}`;
    if (name.endsWith('+')) {
      params.push(name.slice(0, -1));
      return '(.+)';
    }
    params.push(name);
    return '([^/]+)';
  });
  return {
    method: route.method,
    key: `${route.method} ${route.path}`,
    regex: new RegExp(`^${pattern}$`),
    params,
    functionId: route.functionId,
    iam: route.iam,
  };
}

function writeProxyResult(res: ServerResponse, result: unknown): void {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: string;
      isBase64Encoded?: boolean;
      cookies?: string[];
    };
    const body =
      r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
    res.writeHead(r.statusCode, {
      ...(r.headers ?? {}),
      ...(r.cookies?.length ? { 'set-cookie': r.cookies } : {}),
      'content-length': body.length,
    });
    res.end(body);
    return;
  }
  // Payload 2.0: anything else is a 200 JSON body.
  json(res, 200, result);
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
