/**
 * The management API as the CLI calls it: administration routes signed with SigV4 (the local
 * stack's credentials on localhost, the AWS default credential chain otherwise), application
 * routes with client credentials.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_CREDENTIALS } from '../local/credentials.ts';
import { requestToken, TokenRequestError, type TokenResponse } from './token-request.ts';

export class CliError extends Error {}

export function isLocal(endpoint: string): boolean {
  return /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?/.test(endpoint);
}

function regionOf(endpoint: string): string {
  return (
    /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com/.exec(endpoint)?.[1] ?? process.env.AWS_REGION ?? 'us-east-1'
  );
}

export class ManagementClient {
  constructor(private readonly endpoint: string) {}

  get base(): string {
    return this.endpoint.replace(/\/$/, '');
  }

  /** An administration call (IAM-authorized on the route). */
  async admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(`${this.base}/admin${path}`);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signer = new SignatureV4({
      credentials: isLocal(this.endpoint) ? LOCAL_CREDENTIALS : defaultProvider(),
      region: regionOf(this.endpoint),
      service: 'execute-api',
      sha256: Sha256,
    });
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: {
        host: url.host,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(payload !== undefined ? { body: payload } : {}),
    });
    return this.send<T>(url, method, signed.headers as Record<string, string>, payload);
  }

  /** An application's own call, with its client credentials. */
  async asApplication<T = Record<string, unknown>>(
    path: string,
    clientId: string,
    clientSecret: string,
  ): Promise<T> {
    const url = new URL(`${this.base}/applications${path}`);
    return this.send<T>(url, 'GET', {
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    });
  }

  /** An access token for the client (the token endpoint next to the management API). */
  async token(clientId: string, clientSecret: string, scope: string): Promise<TokenResponse> {
    try {
      return await requestToken(`${this.base}/oauth2/token`, { clientId, clientSecret }, scope);
    } catch (error) {
      if (!(error instanceof TokenRequestError)) throw error;
      if (error.status === undefined) throw this.unreachable(error.cause);
      throw new CliError(`the token endpoint refused: ${error.error}: ${error.description ?? ''}`, {
        cause: error,
      });
    }
  }

  private async send<T>(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<T> {
    let response: Response;
    try {
      response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
    } catch (error) {
      throw this.unreachable(error);
    }
    if (response.status === 204) return {} as T;
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { message: text };
    }
    if (!response.ok) {
      throw new CliError(
        `${response.status} ${parsed.error ? `${parsed.error}: ` : ''}${parsed.message ?? response.statusText}`,
      );
    }
    return parsed as T;
  }

  private unreachable(error: unknown): CliError {
    return new CliError(
      `cannot reach the management API at ${this.endpoint} (${(error as Error).message}); is the local stack running (npm start)? On AWS pass --endpoint <HttpApiUrl>.`,
    );
  }
}
