import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/events');

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(fixtures, name), 'utf8')) as T;
}

/** The Lambda context of an invocation (test/fixtures/events/http-context.json). */
export function lambdaContext(): Context {
  return {
    ...fixture<Omit<Context, 'getRemainingTimeInMillis' | 'done' | 'fail' | 'succeed'>>('http-context.json'),
    getRemainingTimeInMillis: () => 29_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * An HTTP API (payload 2.0) event as API Gateway sends it, from one of the http-*.json fixtures,
 * for another method, path, body or headers (the path and method are set in every place AWS puts
 * them; a JSON body is sent as text, `raw` bodies as they are).
 */
export function httpEvent(
  fixtureName: 'http-admin-request.json' | 'http-application-request.json' | 'http-token-request.json',
  request: {
    method?: string;
    path?: string;
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
  } = {},
): APIGatewayProxyEventV2 {
  const event = fixture<APIGatewayProxyEventV2>(fixtureName);
  if (request.method) event.requestContext.http.method = request.method;
  if (request.path) {
    event.rawPath = request.path;
    event.requestContext.http.path = request.path;
  }
  const body = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  if (body !== undefined) {
    event.body = body;
    event.isBase64Encoded = false;
    event.headers['content-length'] = String(Buffer.byteLength(body));
    if (request.raw === undefined) event.headers['content-type'] = 'application/json';
  }
  Object.assign(event.headers, request.headers);
  return event;
}
