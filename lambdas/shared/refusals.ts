/**
 * A refusal (GatewayError) as each transport answers it — one mapper per transport:
 *   handshake  `$connect`'s response: the status, and `{error, message}` as JSON (API Gateway
 *              completes the WebSocket upgrade only on 2xx, and passes the body to the client);
 *   frame      the JSON error frame a connected client receives (`type: "error"`, status, code,
 *              message, the echo of what it sent, the error's details);
 *   HTTP JSON  an HTTP API response `{error, message}` (management, token endpoint).
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { GatewayError, isGatewayError } from '../core/errors.ts';

/**
 * The refusal an error stands for: a GatewayError as it is, anything else (a bug, an SDK failure)
 * as a 500 that says only `message` and keeps the error as its cause for the logs.
 */
export function refusalOf(
  error: unknown,
  message = 'the gateway failed to handle this request',
): GatewayError {
  return isGatewayError(error)
    ? error
    : new GatewayError('internal_error', message, undefined, { cause: error });
}

/** `$connect`'s answer to a refused handshake. */
export function toHandshakeResponse(error: GatewayError): APIGatewayProxyStructuredResultV2 {
  return toHttpJson(error);
}

/** The one JSON frame a client receives when something it sent is refused. */
export function toErrorFrame(error: GatewayError, echo: Record<string, unknown> = {}): string {
  return JSON.stringify({
    type: 'error',
    status: error.status,
    error: error.code,
    message: error.message,
    ...echo,
    ...(error.details ?? {}),
  });
}

/** An HTTP API (payload 2.0) JSON response for a refusal; `headers` adds e.g. `www-authenticate`. */
export function toHttpJson(
  error: GatewayError,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: error.status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ error: error.code, message: error.message }),
  };
}
