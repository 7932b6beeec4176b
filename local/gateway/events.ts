/**
 * Lambda proxy events of a WebSocket API, shaped and filled as API Gateway sends them.
 */
import { randomBytes } from 'node:crypto';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `13/Dec/2020:10:17:47 +0000`, as `requestContext.requestTime`. */
export function requestTime(date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${MONTHS[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}

/** An id in API Gateway's style: 11 random bytes, base64, e.g. `L0SM9cOFvHcCIhw=`. Never holds `/`. */
export function awsStyleId(): string {
  for (;;) {
    const id = randomBytes(11).toString('base64');
    if (!id.includes('/')) return id;
  }
}

export interface ConnectionInfo {
  connectionId: string;
  connectedAt: number;
  sourceIp: string;
  userAgent: string | undefined;
  domainName: string;
  authorizer?: Record<string, unknown>;
}

export interface ApiInfo {
  apiId: string;
  stage: string;
}

function baseContext(api: ApiInfo, connection: ConnectionInfo, routeKey: string, eventType: string) {
  const now = Date.now();
  return {
    routeKey,
    eventType,
    extendedRequestId: awsStyleId(),
    requestTime: requestTime(new Date(now)),
    messageDirection: 'IN',
    stage: api.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now,
    identity: {
      sourceIp: connection.sourceIp,
      ...(connection.userAgent ? { userAgent: connection.userAgent } : {}),
    },
    requestId: awsStyleId(),
    domainName: connection.domainName,
    connectionId: connection.connectionId,
    apiId: api.apiId,
    ...(connection.authorizer ? { authorizer: connection.authorizer } : {}),
  };
}

/** Headers keep the client's spelling; repeated ones fold into multiValueHeaders. */
export function headerMaps(rawHeaders: string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  return { headers, multiValueHeaders };
}

export function queryMaps(query: URLSearchParams): {
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
} {
  const keys = [...new Set(query.keys())];
  if (keys.length === 0) return {};
  return {
    queryStringParameters: Object.fromEntries(keys.map((k) => [k, query.getAll(k).at(-1) as string])),
    multiValueQueryStringParameters: Object.fromEntries(keys.map((k) => [k, query.getAll(k)])),
  };
}

export function connectEvent(
  api: ApiInfo,
  connection: ConnectionInfo,
  rawHeaders: string[],
  query: URLSearchParams,
) {
  return {
    ...headerMaps(rawHeaders),
    ...queryMaps(query),
    requestContext: {
      ...baseContext(api, connection, '$connect', 'CONNECT'),
      disconnectStatusCode: null,
      messageId: null,
      disconnectReason: null,
    },
    isBase64Encoded: false,
  };
}

export function authorizerEvent(
  api: ApiInfo,
  connection: ConnectionInfo,
  rawHeaders: string[],
  query: URLSearchParams,
) {
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:us-east-1:000000000000:${api.apiId}/${api.stage}/$connect`,
    ...headerMaps(rawHeaders),
    ...queryMaps(query),
    stageVariables: {},
    requestContext: baseContext(api, connection, '$connect', 'CONNECT'),
  };
}

export function messageEvent(api: ApiInfo, connection: ConnectionInfo, routeKey: string, body: string) {
  return {
    requestContext: { ...baseContext(api, connection, routeKey, 'MESSAGE'), messageId: awsStyleId() },
    body,
    isBase64Encoded: false,
  };
}

export function disconnectEvent(api: ApiInfo, connection: ConnectionInfo, code: number, reason: string) {
  return {
    headers: { Host: connection.domainName, 'x-api-key': '', 'X-Forwarded-For': '', 'x-restapi': '' },
    multiValueHeaders: {
      Host: [connection.domainName],
      'x-api-key': [''],
      'X-Forwarded-For': [''],
      'x-restapi': [''],
    },
    requestContext: {
      ...baseContext(api, connection, '$disconnect', 'DISCONNECT'),
      disconnectStatusCode: code,
      disconnectReason: reason,
    },
    isBase64Encoded: false,
  };
}
