/**
 * The local API Gateway for one WebSocket API of the synthesized template, faithful where clients
 * and handlers can tell:
 *  - the stage URL (`/{stage}`) and, through the template's CloudFront Function, edge paths;
 *  - the authorizer and `$connect` run during the handshake; the upgrade completes only on 2xx,
 *    otherwise the client gets the same status;
 *  - route selection as AWS evaluates it, never on `$connect`/`$disconnect`; binary frames are
 *    refused (1003), frames over 32 KB and messages over 128 KB close the connection (1009);
 *  - `$disconnect` on every ending: client close, `DELETE @connections`, 10 min idle, 2 h cap;
 *  - idle as AWS counts it: API Gateway closes a connection after 10 minutes without a message either
 *    way; a connection that came through the edge (a CloudFront path) is also closed after 10 minutes
 *    without a byte from the origin, as CloudFront does (its "origin response timeout");
 *  - MOCK routes (the `ping` heartbeat) answered by the gateway from the template's integration
 *    response, without a Lambda, still counted by the stage throttle;
 *  - the `@connections` API (POST/GET/DELETE under the stage, SigV4 checked as execute-api checks
 *    it: service `execute-api`, `host` signed, dated within 15 minutes; unsigned calls refused unless
 *    `allowUnsignedConnections` on a loopback host; with local IAM, the caller's role must allow
 *    `execute-api:ManageConnections`, else 403 AccessDeniedException; 410 for gone ids and for ids
 *    whose `$connect` has not returned yet (the handshake window AWS has too), binary data untouched,
 *    messages over 32 KB sent as several frames);
 *  - stage throttling (429 on connect, an error message on frames).
 */

import { isUtf8 } from 'node:buffer';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { LocalIam } from '../iam/local-iam.ts';
import type { InvocationError, LambdaRuntime } from '../lambda/runtime.ts';
import type { LogSink } from '../log.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalWebSocketApi } from '../template.ts';
import { EdgeFunction } from './edge.ts';
import {
  type ApiInfo,
  authorizerEvent,
  awsStyleId,
  type ConnectionInfo,
  connectEvent,
  disconnectEvent,
  messageEvent,
} from './events.ts';
import { FrameGuard, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES } from './frame-guard.ts';
import { compileSelectionExpression } from './route-selection.ts';
import { type LocalCredentials, verifySigV4 } from './sigv4.ts';
import { TokenBucket } from './token-bucket.ts';

/** API Gateway meters WebSocket messages in 32 KB units. */
const BILLING_UNIT_BYTES = 32 * 1024;

export interface GatewayOptions {
  api: LocalWebSocketApi;
  lambda: LambdaRuntime;
  log: LogSink;
  host: string;
  port: number;
  tls?: { port: number; key: string; cert: string };
  credentials: LocalCredentials;
  /** CloudFront Function sources from the template (edge paths); none: only the stage URL. */
  edgeFunctions: string[];
  /** API Gateway's idle timeout: no message either way for this long closes (default 10 min). */
  idleTimeoutMs?: number;
  /**
   * CloudFront's idle timeout for connections that came through the edge: no byte from the origin
   * to the client for this long closes (default 10 min, CloudFront quotas: "Origin response timeout").
   */
  edgeIdleTimeoutMs?: number;
  maxConnectionMs?: number;
  integrationTimeoutMs?: number;
  /**
   * Added to every `@connections` call before it is served: the round trip to the regional endpoint
   * that callers on AWS pay and a local caller does not (benchmarks set it; 0 by default).
   */
  connectionsLatencyMs?: number;
  /**
   * Serve unsigned `@connections` calls (`npm start -- --allow-unsigned-connections`, loopback hosts
   * only): a convenience for curl. Off by default: the endpoint is as strict as execute-api's.
   */
  allowUnsignedConnections?: boolean;
  /** Local IAM: functions' keys are accepted, and each call needs `execute-api:ManageConnections` from the caller's role. */
  iam?: LocalIam;
}

interface Connection extends ConnectionInfo {
  socket: WebSocket;
  lastActiveAt: number;
  /** Came through the edge (a CloudFront path), which has an idle timeout of its own. */
  viaEdge: boolean;
  idleTimer?: NodeJS.Timeout;
  edgeIdleTimer?: NodeJS.Timeout;
  hardTimer?: NodeJS.Timeout;
  /** Set once: the close code and reason `$disconnect` reports. */
  ending?: { code: number; reason: string };
  disconnected: boolean;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};

export class WebSocketGateway {
  private readonly connections = new Map<string, Connection>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
  });
  private readonly servers: Server[] = [];
  private readonly selectRoute: (body: string) => string | undefined;
  private readonly edge: EdgeFunction | undefined;
  private readonly bucket: TokenBucket | undefined;
  private readonly apiInfo: ApiInfo;
  private readonly idleTimeoutMs: number;
  private readonly edgeIdleTimeoutMs: number;
  private readonly maxConnectionMs: number;
  private readonly integrationTimeoutMs: number;
  private warnedUnsigned = false;
  /** Delays (ms) the next handshakes wait between `$connect`'s 2xx and the socket opening. */
  private readonly openingDelays: number[] = [];

  constructor(private readonly options: GatewayOptions) {
    if (options.allowUnsignedConnections && !isLoopbackHost(options.host)) {
      throw new Error(
        `unsigned @connections calls can be allowed only on a loopback host (--host ${options.host})`,
      );
    }
    this.selectRoute = compileSelectionExpression(options.api.routeSelectionExpression);
    this.edge = options.edgeFunctions[0] ? new EdgeFunction(options.edgeFunctions[0]) : undefined;
    this.bucket = options.api.throttle
      ? new TokenBucket(options.api.throttle.rateLimit, options.api.throttle.burstLimit)
      : undefined;
    this.apiInfo = { apiId: options.api.apiId, stage: options.api.stageName };
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60_000;
    this.edgeIdleTimeoutMs = options.edgeIdleTimeoutMs ?? 10 * 60_000;
    this.maxConnectionMs = options.maxConnectionMs ?? 2 * 60 * 60_000;
    this.integrationTimeoutMs = options.integrationTimeoutMs ?? 29_000;
  }

  /**
   * Hold the next `count` accepted handshakes for `ms` between `$connect`'s 2xx and the socket
   * opening, as a slow `$connect` holds them on AWS: their records exist, `@connections` answers 410
   * for them meanwhile. For tests of that window (`POST /_local/gateway/hold-openings`).
   */
  holdNextOpenings(ms: number, count = 1): void {
    if (!Number.isInteger(ms) || ms < 0 || ms > 29_000) throw new RangeError('ms: 0 to 29000');
    if (!Number.isInteger(count) || count < 1 || count > 1_000) throw new RangeError('count: 1 to 1000');
    for (let i = 0; i < count; i++) this.openingDelays.push(ms);
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** What API Gateway would bill so far: messages both ways (in 32 KB units) and connection time. */
  private readonly billable = {
    inboundMessages: 0,
    outboundMessages: 0,
    messageUnits: 0,
    closedConnectionMs: 0,
  };

  usage(): {
    inboundMessages: number;
    outboundMessages: number;
    messageUnits: number;
    connectionMinutes: number;
    openConnections: number;
  } {
    const now = Date.now();
    let openMs = 0;
    for (const connection of this.connections.values()) openMs += now - connection.connectedAt;
    return {
      inboundMessages: this.billable.inboundMessages,
      outboundMessages: this.billable.outboundMessages,
      messageUnits: this.billable.messageUnits,
      connectionMinutes: (this.billable.closedConnectionMs + openMs) / 60_000,
      openConnections: this.connections.size,
    };
  }

  private countMessage(direction: 'inboundMessages' | 'outboundMessages', bytes: number): void {
    this.billable[direction]++;
    this.billable.messageUnits += Math.max(1, Math.ceil(bytes / BILLING_UNIT_BYTES));
  }

  async start(): Promise<void> {
    const servers: Server[] = [createHttpServer()];
    if (this.options.tls)
      servers.push(createHttpsServer({ key: this.options.tls.key, cert: this.options.tls.cert }));
    const ports = [this.options.port, ...(this.options.tls ? [this.options.tls.port] : [])];
    await Promise.all(
      servers.map(
        (server, i) =>
          new Promise<void>((resolve, reject) => {
            server.keepAliveTimeout = 65_000;
            server.on('request', (req, res) => void this.onRequest(req, res));
            server.on('upgrade', (req, socket, head) => void this.onUpgrade(req, socket, head));
            server.once('error', reject);
            server.listen(ports[i], this.options.host, () => resolve());
          }),
      ),
    );
    this.servers.push(...servers);
  }

  /** Close every connection (each gets `$disconnect`), then the listeners. */
  async stop(): Promise<void> {
    const closing = [...this.connections.values()].map(
      (connection) =>
        new Promise<void>((resolve) => {
          connection.socket.once('close', () => resolve());
          this.end(connection, 1001, 'Going away');
          setTimeout(resolve, 1_000).unref();
        }),
    );
    await Promise.all(closing);
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Handshake

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => undefined);
    // The path as the client sent it: WHATWG URL parsing would read `//chats/…` as a host and drop
    // `.` segments, where CloudFront hands its function the request's own URI.
    const { path: rawPath, query: rawQuery } = splitRequestTarget(req.url ?? '/');
    if (!rawPath.startsWith('/')) return refuse(socket, 400, { message: 'Bad Request' });
    let query: URLSearchParams;
    let viaEdge = false;
    const stagePath = `/${this.options.api.stageName}`;
    if (rawPath === stagePath || rawPath === `${stagePath}/`) {
      query = new URLSearchParams(rawQuery);
    } else if (this.edge) {
      viaEdge = true;
      const rewritten = this.edge.viewerRequest({
        uri: rawPath,
        querystring: rawQuery,
        headers: headersOf(req),
        method: req.method ?? 'GET',
        clientIp: req.socket.remoteAddress ?? '127.0.0.1',
      });
      if (rewritten.uri !== '/') return refuse(socket, 403, { message: 'Forbidden' });
      query = new URLSearchParams(rewritten.querystring);
    } else {
      // API Gateway accepts connections only at the stage URL.
      return refuse(socket, 403, { message: 'Forbidden' });
    }
    if (this.bucket && !this.bucket.take()) return refuse(socket, 429, { message: 'Too Many Requests' });

    const connection: Omit<Connection, 'socket'> = {
      connectionId: awsStyleId(),
      connectedAt: Date.now(),
      sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
      userAgent: req.headers['user-agent'],
      domainName: req.headers.host ?? `localhost:${this.options.port}`,
      lastActiveAt: Date.now(),
      viaEdge,
      disconnected: false,
    };
    const connectRoute = this.options.api.routes.get('$connect');
    try {
      if (connectRoute?.authorizerFunctionId) {
        const decision = await this.authorize(
          connectRoute.authorizerFunctionId,
          connection,
          req.rawHeaders,
          query,
        );
        if ('status' in decision) return refuse(socket, decision.status, { message: decision.message });
        connection.authorizer = decision.context;
      }
      let protocol: string | undefined;
      if (connectRoute?.functionId) {
        const result = await this.invokeWithTimeout(
          connectRoute.functionId,
          connectEvent(this.apiInfo, connection, req.rawHeaders, query),
        );
        const response = proxyResponse(result);
        if (response.statusCode < 200 || response.statusCode > 299) {
          this.options.log.info('gateway', `connect refused: ${response.statusCode}`, {
            connectionId: connection.connectionId,
          });
          return refuse(socket, response.statusCode, response.body ?? '', response.headers);
        }
        protocol = headerOf(response.headers, 'sec-websocket-protocol');
      }
      const hold = this.openingDelays.shift();
      if (hold) await new Promise((resolve) => setTimeout(resolve, hold));
      if (socket.destroyed) {
        // The client left while $connect ran: AWS still sends $disconnect for an accepted connection.
        void this.fireDisconnect(connection, 1006, 'Client left during handshake');
        return;
      }
      this.accept(req, socket, head, connection, protocol);
    } catch (error) {
      this.options.log.error('gateway', 'connect integration failed', {
        connectionId: connection.connectionId,
        error: (error as Error).message,
      });
      return refuse(socket, 502, { message: 'Internal server error' });
    }
  }

  private async authorize(
    functionId: string,
    connection: Omit<Connection, 'socket'>,
    rawHeaders: string[],
    query: URLSearchParams,
  ): Promise<{ context: Record<string, unknown> } | { status: number; message: string }> {
    let result: unknown;
    try {
      result = await this.invokeWithTimeout(
        functionId,
        authorizerEvent(this.apiInfo, connection, rawHeaders, query),
      );
    } catch (error) {
      if ((error as InvocationError).message === 'Unauthorized')
        return { status: 401, message: 'Unauthorized' };
      return { status: 500, message: 'Internal server error' };
    }
    const policy = result as {
      principalId?: string;
      policyDocument?: { Statement?: { Effect?: string; Action?: string | string[] }[] };
      context?: Record<string, unknown>;
    };
    const statements = policy?.policyDocument?.Statement ?? [];
    const allowed =
      statements.some((s) => s.Effect === 'Allow') && !statements.some((s) => s.Effect === 'Deny');
    if (!allowed) return { status: 403, message: 'Forbidden' };
    // Context values reach later events as strings, numbers and booleans only.
    return { context: { principalId: policy.principalId, ...(policy.context ?? {}) } };
  }

  private accept(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    info: Omit<Connection, 'socket'>,
    protocol: string | undefined,
  ): void {
    let oversized = false;
    const guard = new FrameGuard(() => {
      oversized = true;
    });
    guard.push(head);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection: Connection = { ...info, socket: ws };
      if (protocol) (ws as unknown as { _protocol: string })._protocol = protocol;
      this.connections.set(connection.connectionId, connection);
      const raw = (ws as unknown as { _socket: Duplex })._socket;
      const checkFrames = (chunk: Buffer) => {
        guard.push(chunk);
        if (oversized && !connection.ending) this.end(connection, 1009, 'Message too big');
      };
      raw.prependListener('data', checkFrames);
      if (oversized) this.end(connection, 1009, 'Message too big');
      this.touch(connection);
      this.originSent(connection);
      connection.hardTimer = setTimeout(() => this.end(connection, 1001, 'Going away'), this.maxConnectionMs);
      connection.hardTimer.unref();

      ws.on('message', (data, isBinary) => this.onMessage(connection, data as Buffer, isBinary));
      ws.on('close', (code, reason) => {
        clearTimeout(connection.idleTimer);
        clearTimeout(connection.edgeIdleTimer);
        clearTimeout(connection.hardTimer);
        if (this.connections.delete(connection.connectionId))
          this.billable.closedConnectionMs += Date.now() - connection.connectedAt;
        const ending = connection.ending ?? {
          code: code === 1005 ? 1005 : code,
          reason: code === 1005 ? 'Client-side close frame status not set' : reason.toString(),
        };
        void this.fireDisconnect(connection, ending.code, ending.reason);
      });
      ws.on('error', (error) => {
        if (!connection.ending) {
          const tooBig = /max payload|too big/i.test(error.message);
          connection.ending = tooBig
            ? { code: 1009, reason: 'Message too big' }
            : { code: 1006, reason: error.message };
        }
      });
      this.options.log.debug('gateway', 'connected', { connectionId: connection.connectionId });
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Messages

  private onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (connection.ending) return;
    this.touch(connection);
    if (isBinary) {
      this.end(connection, 1003, 'Binary frames are not supported');
      return;
    }
    this.countMessage('inboundMessages', data.length);
    const requestId = awsStyleId();
    if (this.bucket && !this.bucket.take()) {
      this.sendJson(connection, {
        message: 'Too Many Requests',
        connectionId: connection.connectionId,
        requestId,
      });
      return;
    }
    const body = data.toString('utf8');
    const selected = this.selectRoute(body);
    const route =
      (selected !== undefined && !selected.startsWith('$')
        ? this.options.api.routes.get(selected)
        : undefined) ?? this.options.api.routes.get('$default');
    if (route?.mock) {
      // Answered by the gateway itself (the heartbeat): no Lambda runs.
      if (route.returnsResponse && route.mock.reply !== undefined) this.send(connection, route.mock.reply);
      return;
    }
    if (!route?.functionId) {
      this.sendJson(connection, { message: 'Forbidden', connectionId: connection.connectionId, requestId });
      return;
    }
    this.invokeWithTimeout(
      route.functionId,
      messageEvent(this.apiInfo, connection, route.routeKey, body),
    ).then(
      (result) => {
        if (!route.returnsResponse) return;
        const response = proxyResponse(result);
        if (response.body !== undefined) this.send(connection, response.body);
      },
      (error: Error) => {
        this.options.log.error('gateway', `route ${route.routeKey} failed`, {
          connectionId: connection.connectionId,
          error: error.message,
        });
        this.sendJson(connection, {
          message: 'Internal server error',
          connectionId: connection.connectionId,
          requestId,
        });
      },
    );
  }

  /** A message either way: API Gateway's idle clock starts again. */
  private touch(connection: Connection): void {
    connection.lastActiveAt = Date.now();
    clearTimeout(connection.idleTimer);
    connection.idleTimer = setTimeout(() => this.end(connection, 1001, 'Going away'), this.idleTimeoutMs);
    connection.idleTimer.unref();
  }

  /**
   * Bytes from the origin to the client: CloudFront's idle clock starts again (it counts only
   * these; a client that only sends is closed after 10 minutes). CloudFront drops both sides
   * without a close frame, so the client sees 1006 and `$disconnect` runs.
   */
  private originSent(connection: Connection): void {
    if (!connection.viaEdge) return;
    clearTimeout(connection.edgeIdleTimer);
    connection.edgeIdleTimer = setTimeout(() => {
      if (connection.ending) return;
      connection.ending = { code: 1006, reason: 'Edge idle timeout' };
      connection.socket.terminate();
    }, this.edgeIdleTimeoutMs);
    connection.edgeIdleTimer.unref();
  }

  /** A message from the gateway to the client (route response, error, `@connections` post). */
  private send(connection: Connection, data: string | Buffer): void {
    if (connection.socket.readyState !== WebSocket.OPEN) return;
    if (typeof data === 'string') connection.socket.send(data);
    else sendFragmented(connection.socket, data);
    this.countMessage('outboundMessages', Buffer.byteLength(data));
    this.touch(connection);
    this.originSent(connection);
  }

  private end(connection: Connection, code: number, reason: string): void {
    if (connection.ending) return;
    connection.ending = { code, reason };
    try {
      connection.socket.close(code, reason);
    } catch {
      connection.socket.terminate();
    }
    // A client that does not answer the close handshake is cut off.
    setTimeout(() => connection.socket.terminate(), 2_000).unref();
  }

  private async fireDisconnect(
    connection: ConnectionInfo & { disconnected?: boolean },
    code: number,
    reason: string,
  ) {
    if (connection.disconnected) return;
    connection.disconnected = true;
    const route = this.options.api.routes.get('$disconnect');
    if (!route?.functionId) return;
    try {
      await this.invokeWithTimeout(route.functionId, disconnectEvent(this.apiInfo, connection, code, reason));
    } catch (error) {
      this.options.log.error('gateway', '$disconnect failed', {
        connectionId: connection.connectionId,
        error: (error as Error).message,
      });
    }
  }

  private sendJson(connection: Connection, body: Record<string, unknown>): void {
    this.send(connection, JSON.stringify(body));
  }

  private invokeWithTimeout(functionId: string, event: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`integration timed out after ${this.integrationTimeoutMs} ms`)),
        this.integrationTimeoutMs,
      );
      this.options.lambda.invoke(functionId, event).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  // ---------------------------------------------------------------------------------------------
  // @connections

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawPath = (req.url ?? '/').split('?')[0] as string;
    const match = /^(?:\/([^/]+))?\/(?:@|%40)connections\/([^/]*)$/.exec(rawPath);
    if (!match) {
      const stagePath = `/${this.options.api.stageName}`;
      if (rawPath === stagePath || rawPath === `${stagePath}/`) {
        return sendError(res, 426, 'UpgradeRequired', 'Use a WebSocket client to connect to this URL');
      }
      return sendError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const [, stage, encodedId] = match as unknown as [string, string | undefined, string];
    const latency = this.options.connectionsLatencyMs;
    if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
    // The execute-api host answers only under the stage: `/@connections/{id}` alone is a 403.
    if (stage !== this.options.api.stageName) {
      return sendError(res, 403, 'ForbiddenException', 'Forbidden');
    }
    const body = await readBody(req, MAX_MESSAGE_BYTES);
    if (body === 'too-large') {
      return sendError(
        res,
        413,
        'PayloadTooLargeException',
        `Message is larger than ${MAX_MESSAGE_BYTES} bytes`,
      );
    }
    const check = await verifySigV4(
      {
        method: req.method ?? 'GET',
        rawPath,
        query: new URLSearchParams(splitRequestTarget(req.url ?? '/').query),
        headers: req.headers,
        body,
      },
      this.options.iam ? (id) => this.options.iam?.secretOf(id) : this.options.credentials,
      { service: 'execute-api' },
    );
    if (!check.ok) return sendError(res, check.status, check.error, check.message);
    if (check.unsigned) {
      if (!this.options.allowUnsignedConnections)
        return sendError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      if (!this.warnedUnsigned) {
        this.warnedUnsigned = true;
        this.options.log.warn(
          'gateway',
          '@connections called without SigV4: served because of --allow-unsigned-connections; refused on AWS',
        );
      }
    }
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(encodedId);
    } catch {
      return sendError(res, 400, 'BadRequestException', 'Invalid connectionId');
    }
    if (!/^[A-Za-z0-9+/=_-]{1,128}$/.test(connectionId)) {
      return sendError(res, 400, 'BadRequestException', 'Invalid connectionId');
    }
    const refusal = check.unsigned
      ? undefined
      : connectionsRefusalOf(
          this.options.iam,
          this.options.api,
          check.accessKeyId,
          req.method ?? 'GET',
          connectionId,
        );
    if (refusal) return sendError(res, 403, 'AccessDeniedException', refusal);
    const connection = this.connections.get(connectionId);
    const live = connection && !connection.ending && connection.socket.readyState === WebSocket.OPEN;
    switch (req.method) {
      case 'POST':
        if (!live) return sendError(res, 410, 'GoneException', null);
        this.send(connection, body);
        res.writeHead(200, { 'content-length': '0' }).end();
        return;
      case 'GET':
        if (!live) return sendError(res, 410, 'GoneException', null);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            connectedAt: new Date(connection.connectedAt).toISOString(),
            identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
            lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
          }),
        );
        return;
      case 'DELETE':
        if (!live) return sendError(res, 410, 'GoneException', null);
        this.end(connection, 1000, 'Connection Closed Normally');
        res.writeHead(204).end();
        return;
      default:
        return sendError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
  }
}

/**
 * A request target split at its first `?`, untouched: no dot-segment removal, no `//` read as an
 * authority. What API Gateway and CloudFront's viewer-request function see is the URI as sent.
 */
export function splitRequestTarget(target: string): { path: string; query: string } {
  const mark = target.indexOf('?');
  return mark < 0
    ? { path: target, query: '' }
    : { path: target.slice(0, mark), query: target.slice(mark + 1) };
}

/**
 * AWS's refusal of an `@connections` call the caller's role does not allow, or undefined when it
 * does: `execute-api:ManageConnections` on
 * `arn:aws:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/@connections/<connectionId>`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html).
 */
function connectionsRefusalOf(
  iam: LocalIam | undefined,
  api: { apiId: string; stageName: string },
  accessKeyId: string,
  method: string,
  connectionId: string,
): string | undefined {
  const principal = iam?.principalOf(accessKeyId);
  if (!iam || !principal) return undefined;
  const resource = `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${api.apiId}/${api.stageName}/${method}/@connections/${connectionId}`;
  const decision = iam.authorize(principal, 'execute-api:ManageConnections', resource);
  return decision.allowed ? undefined : decision.reason;
}

/** `127.0.0.1`, `::1`, `localhost`: hosts no other machine reaches. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Send as text when the bytes are UTF-8, else binary; split into frames of at most 32 KB. */
function sendFragmented(socket: WebSocket, data: Buffer): void {
  const binary = !isUtf8(data);
  if (data.length <= MAX_FRAME_BYTES) {
    socket.send(data, { binary });
    return;
  }
  for (let offset = 0; offset < data.length; offset += MAX_FRAME_BYTES) {
    const end = Math.min(offset + MAX_FRAME_BYTES, data.length);
    socket.send(data.subarray(offset, end), { binary, fin: end === data.length });
  }
}

function refuse(socket: Duplex, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const contentType = headerOf(headers, 'content-type') ?? 'application/json';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      `content-type: ${contentType}\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\n` +
      'connection: close\r\n\r\n' +
      text,
  );
}

function sendError(res: ServerResponse, status: number, errorType: string, message: string | null): void {
  const body = JSON.stringify({ message });
  res
    .writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-errortype': errorType,
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function headersOf(req: IncomingMessage): Record<string, string> {
  return Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
}

function headerOf(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  return Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

/** A Lambda proxy result: `{statusCode, headers, body}`; anything else counts as 200 with no body. */
function proxyResponse(result: unknown): {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
} {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as {
      statusCode: number;
      headers?: Record<string, string>;
      body?: unknown;
      isBase64Encoded?: boolean;
    };
    const body =
      r.body === undefined || r.body === null
        ? undefined
        : r.isBase64Encoded
          ? Buffer.from(String(r.body), 'base64').toString('utf8')
          : String(r.body);
    return {
      statusCode: Number(r.statusCode),
      ...(r.headers ? { headers: r.headers } : {}),
      ...(body !== undefined ? { body } : {}),
    };
  }
  return { statusCode: 200 };
}
