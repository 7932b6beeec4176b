import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SIGNATURE_HEADER, signatureHeader } from '../core/backend-signature.ts';
import { GatewayError } from '../core/errors.ts';

export interface BackendReply {
  status: number;
  /** The reply body, empty when the backend had nothing to say back. */
  body: string;
  elapsedMs: number;
}

/** What the backend learns about a frame besides its body (all `X-Streamgate-*` headers). */
export interface FrameContext {
  api: string;
  topic: string;
  connectionId: string;
  application?: { appId: string; appName: string };
  clientId?: string;
  keyType?: string;
  contentType: string;
}

/** The backend signing secret: read when needed (cached by the provider). */
export type SecretProvider = () => Promise<string>;

/**
 * Reads a secret string from Secrets Manager and keeps it for `ttlMs`, so a changed secret reaches
 * every execution environment within that time.
 */
export function cachedSecret(
  secrets: SecretsManagerClient,
  secretId: string,
  ttlMs = 300_000,
): SecretProvider {
  let cached: { value: string; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.value;
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString) throw new Error(`the backend signing secret ${secretId} is empty`);
    cached = { value: SecretString, until: Date.now() + ttlMs };
    return SecretString;
  };
}

/**
 * Posts published frames to http backends, each request signed (`x-streamgate-signature`, see
 * core/backend-signature.ts) when a secret is given. A slow backend is cut off at the channel's
 * timeout, an unreachable or failing one is reported: both as GatewayErrors the sender receives as
 * error frames that say nothing of the backend's address or network (the reason is the error's
 * `cause`, for the log only).
 */
export class HttpBackend {
  constructor(
    private readonly fetchImpl: typeof fetch = fetch,
    private readonly secret?: SecretProvider,
  ) {}

  async post(url: string, frame: string, context: FrameContext, timeoutMs: number): Promise<BackendReply> {
    const started = performance.now();
    const headers = frameHeaders(context);
    if (this.secret) {
      const target = new URL(url);
      headers[SIGNATURE_HEADER] = signatureHeader(
        await this.secret(),
        { method: 'POST', path: `${target.pathname}${target.search}`, body: frame },
        Math.floor(Date.now() / 1000),
      );
    }
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method: 'POST',
        headers,
        body: frame,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new GatewayError(
          'gateway_timeout',
          `the backend did not answer within ${timeoutMs} ms`,
          undefined,
          { cause: error },
        );
      }
      throw new GatewayError('bad_gateway', 'the backend could not be reached', undefined, {
        cause: error,
      });
    }
    let body: string;
    try {
      body = await response.text();
    } catch (error) {
      const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
      throw new GatewayError(
        timedOut ? 'gateway_timeout' : 'bad_gateway',
        timedOut
          ? `the backend did not finish its reply within ${timeoutMs} ms`
          : "the backend's reply broke off",
        undefined,
        { cause: error },
      );
    }
    if (response.status >= 300) {
      throw new GatewayError('bad_gateway', `the backend answered ${response.status}`, {
        backendStatus: response.status,
      });
    }
    return { status: response.status, body, elapsedMs: performance.now() - started };
  }
}

/** Header values are ASCII: anything else (a topic or application name in another script) is URL-encoded. */
const headerValue = (value: string) => (/^[\x20-\x7e]*$/.test(value) ? value : encodeURIComponent(value));

function frameHeaders(context: FrameContext): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': context.contentType,
    'x-streamgate-api': context.api,
    'x-streamgate-topic': context.topic,
    'x-streamgate-connection-id': context.connectionId,
    ...(context.application
      ? {
          'x-streamgate-application-id': context.application.appId,
          'x-streamgate-application': context.application.appName,
        }
      : {}),
    ...(context.clientId ? { 'x-streamgate-client-id': context.clientId } : {}),
    ...(context.keyType ? { 'x-streamgate-key-type': context.keyType } : {}),
  };
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, headerValue(value)]));
}
