import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { GatewayError } from '../core/errors.ts';

/** An HTTP API (payload format 2.0) response that always states its status. */
export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/** Helpers for HTTP API (payload format 2.0) handlers. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

export function bodyText(event: APIGatewayProxyEventV2): string {
  if (!event.body) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * Whether every percent-escape of a path decodes (to UTF-8). API Gateway answers 400 to one that
 * does not, and a router that decodes its parameters would throw a URIError on it.
 */
export function decodablePath(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  return event.headers?.[name.toLowerCase()];
}

/** The public base URL of this HTTP API as the caller reached it. */
export function baseUrl(event: APIGatewayProxyEventV2): string {
  const proto = header(event, 'x-forwarded-proto') ?? 'https';
  return `${proto}://${event.requestContext.domainName}`;
}

/**
 * A refusal as the HTTP APIs answer it: the error's status and `{"error": code, "message": text}`, with `www-authenticate: Basic realm="streamgate"`
 * on 401 so clients know to send client credentials. The one HTTP JSON mapper of GatewayError;
 * lambdas/shared/refusals.ts takes its place when the transports' mappers merge.
 */
export function httpRefusal(error: GatewayError): HttpResult {
  return json(
    error.status,
    { error: error.code, message: error.message },
    error.status === 401 ? { 'www-authenticate': 'Basic realm="streamgate"' } : {},
  );
}

/**
 * The JSON object of a request body (base64 bodies decoded; an empty body is `{}`).
 * @param maxBytes the largest body taken (bytes of its text)
 * @throws GatewayError bad_request when the body is not JSON or not an object; payload_too_large
 *   when it is longer than `maxBytes`
 */
export function jsonBody(
  event: APIGatewayProxyEventV2,
  maxBytes = Number.POSITIVE_INFINITY,
): Record<string, unknown> {
  const text = bodyText(event);
  if (!text) return {};
  if (Buffer.byteLength(text) > maxBytes)
    throw new GatewayError('payload_too_large', `the request body is larger than ${maxBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GatewayError('bad_request', 'the request body must be JSON', undefined, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new GatewayError('bad_request', 'the request body must be a JSON object');
  return parsed as Record<string, unknown>;
}
