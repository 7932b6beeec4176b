/**
 * A refusal the gateway answers precisely: an HTTP status for the handshake (and the management API),
 * and the same code and message in the JSON error frame a connected client receives.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'payload_too_large'
  | 'too_many_requests'
  | 'conflict'
  | 'topic_limit'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'internal_error';

const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  topic_limit: 409,
  payload_too_large: 413,
  too_many_requests: 429,
  internal_error: 500,
  bad_gateway: 502,
  gateway_timeout: 504,
};

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields the client may act on (e.g. the topic a control message named). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = STATUS[code];
    this.details = details;
  }
}

/**
 * A refusal after which the gateway closes the connection: the error frame saying why is sent
 * first, then the connection is deleted (`@connections` DELETE: close code 1000 on AWS and locally,
 * since API Gateway lets no other code be chosen). Used when the API was blocked or retired.
 */
export class ClosingRefusal extends GatewayError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('forbidden', message, { ...details, closing: true });
    this.name = 'ClosingRefusal';
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new GatewayError('bad_request', message, details);
export const unauthorized = (message: string, details?: Record<string, unknown>) =>
  new GatewayError('unauthorized', message, details);
export const forbidden = (message: string, details?: Record<string, unknown>) =>
  new GatewayError('forbidden', message, details);
/**
 * 409 `topic_limit`: the connection already receives MAX_TOPICS_PER_CONNECTION topics. A code of its
 * own (not `too_many_requests`), so it is answered every time, never behind the throttle-notice gate.
 */
export const topicLimit = (max: number, details?: Record<string, unknown>) =>
  new GatewayError(
    'topic_limit',
    `a connection receives at most ${max} topics; unsubscribe from one first`,
    details,
  );
export const notFound = (message: string, details?: Record<string, unknown>) =>
  new GatewayError('not_found', message, details);

/** A refusal with a status chosen elsewhere (a channel handler's), under the closest error code. */
export function gatewayErrorForStatus(status: number, message: string): GatewayError {
  const code = (Object.entries(STATUS).find(([, s]) => s === status)?.[0] ??
    (status >= 500 ? 'bad_gateway' : 'bad_request')) as ErrorCode;
  return new GatewayError(code, message);
}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

/** Narrow an unknown catch value to an Error (wrapping anything else). */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
