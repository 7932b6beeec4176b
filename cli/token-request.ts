/**
 * The one client-credentials token request (RFC 6749 §4.4) of the CLI, the benchmarks and the
 * tests: POST {tokenUrl} with the client's id and secret as HTTP Basic (form-encoded first,
 * RFC 6749 §2.3.1) and `grant_type=client_credentials[&scope=…]` as the form body.
 */

/** The token endpoint's successful answer (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  /** Seconds. */
  expires_in: number;
  /** The scopes granted, space-separated (may be fewer than asked). */
  scope: string;
}

/**
 * The token endpoint refused (`status` and the RFC 6749 §5.2 `error`/`error_description`), or could
 * not be reached (`status` undefined, the network error as `cause`).
 */
export class TokenRequestError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly error: string | undefined,
    readonly description: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'TokenRequestError';
  }
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
}

/**
 * An access token for a client. `scope` is space-separated; none (or empty) asks for none.
 * @throws TokenRequestError when the endpoint refuses or cannot be reached
 */
export async function requestToken(
  tokenUrl: string,
  { clientId, clientSecret }: ClientCredentials,
  scope?: string,
): Promise<TokenResponse> {
  const basic = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`);
  let response: Response;
  try {
    response = await fetch(tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${basic.toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }),
    });
  } catch (error) {
    throw new TokenRequestError(
      `cannot reach the token endpoint ${tokenUrl}`,
      undefined,
      undefined,
      undefined,
      {
        cause: error,
      },
    );
  }
  const body = (await response.json()) as Record<string, unknown>;
  if (!response.ok) {
    const error = typeof body.error === 'string' ? body.error : undefined;
    const description = typeof body.error_description === 'string' ? body.error_description : undefined;
    throw new TokenRequestError(
      `token endpoint: ${response.status} ${JSON.stringify(body)}`,
      response.status,
      error,
      description,
    );
  }
  return body as unknown as TokenResponse;
}
