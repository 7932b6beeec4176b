/**
 * Verifies AWS Signature Version 4 on requests to the local `@connections` API and local AWS
 * services, the way AWS does: the signature is recomputed from the signed headers, path, query and
 * body with the secret of the key that signed (the local stack's own, or with local IAM any key the
 * stack issued to a function), and must match. The verified access key id is returned, so the
 * caller can authorize the call by its owner.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lambdas/adapters/node-sha256.ts';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The secret of an access key the local stack issued, undefined for any other key: the stack's own
 * key and, with local IAM, each function's (`LocalIam.secretOf`).
 */
export type SecretLookup = (accessKeyId: string) => string | undefined;

/** A signed request's `accessKeyId` is the verified caller (absent on an unsigned one). */
export type SigV4Result =
  | { ok: true; unsigned: true }
  | { ok: true; unsigned: false; accessKeyId: string }
  | { ok: false; status: number; error: string; message: string };

/** What a verifier checks beyond the signature itself (AWS checks all of them on every service). */
export interface SigV4Policy {
  /** The credential scope's service must be this one (`execute-api`); any when unset. */
  service?: string;
  /** How far the signature's date may be from now, ms. @default 15 minutes (AWS's window) */
  maxSkewMs?: number;
  /** Epoch ms now (tests). */
  now?: number;
}

/** AWS refuses a signature dated more than 15 minutes from its clock, either way. */
export const SIGV4_MAX_SKEW_MS = 15 * 60_000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256\s+Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/;

export async function verifySigV4(
  request: {
    method: string;
    rawPath: string;
    query: URLSearchParams;
    headers: Record<string, string | string[] | undefined>;
    body: Uint8Array;
  },
  credentials: LocalCredentials | SecretLookup,
  policy: SigV4Policy = {},
): Promise<SigV4Result> {
  const authorization = firstHeader(request.headers.authorization);
  if (!authorization) return { ok: true, unsigned: true };
  const match = AUTHORIZATION.exec(authorization.trim());
  if (!match) {
    return {
      ok: false,
      status: 403,
      error: 'IncompleteSignatureException',
      message: 'Authorization header is not SigV4',
    };
  }
  const [, accessKeyId, , region, service, signedHeaderList, signature] = match as unknown as string[];
  const secretAccessKey =
    typeof credentials === 'function'
      ? credentials(accessKeyId as string)
      : accessKeyId === credentials.accessKeyId
        ? credentials.secretAccessKey
        : undefined;
  if (secretAccessKey === undefined) {
    return {
      ok: false,
      status: 403,
      error: 'UnrecognizedClientException',
      message: unrecognizedKeyMessage(accessKeyId as string),
    };
  }
  if (policy.service !== undefined && service !== policy.service) {
    return {
      ok: false,
      status: 403,
      error: 'InvalidSignatureException',
      message: `Credential should be scoped to correct service: '${policy.service}'.`,
    };
  }
  const amzDate = firstHeader(request.headers['x-amz-date']);
  const signingDate = amzDate ? parseAmzDate(amzDate) : undefined;
  if (!amzDate || !signingDate) {
    return {
      ok: false,
      status: 403,
      error: 'IncompleteSignatureException',
      message: amzDate ? 'X-Amz-Date header is malformed' : 'X-Amz-Date header is missing',
    };
  }
  const stale = signatureDateProblem(signingDate, policy.now ?? Date.now(), policy.maxSkewMs);
  if (stale) return { ok: false, status: 403, error: 'InvalidSignatureException', message: stale };
  // A declared payload hash must be the body's: the signature covers the header, not the body.
  const declaredHash = firstHeader(request.headers['x-amz-content-sha256']);
  if (
    declaredHash &&
    declaredHash !== 'UNSIGNED-PAYLOAD' &&
    declaredHash !== createHash('sha256').update(request.body).digest('hex')
  ) {
    return {
      ok: false,
      status: 403,
      error: 'InvalidSignatureException',
      message: 'The provided x-amz-content-sha256 header does not match what was computed.',
    };
  }
  const signedHeaders = (signedHeaderList as string).split(';');
  if (!signedHeaders.includes('host')) {
    return {
      ok: false,
      status: 403,
      error: 'IncompleteSignatureException',
      message: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    };
  }
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = request.headers[name];
    if (value === undefined) {
      return {
        ok: false,
        status: 403,
        error: 'IncompleteSignatureException',
        message: `signed header ${name} is missing`,
      };
    }
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string | string[]> = {};
  for (const key of new Set(request.query.keys())) {
    const values = request.query.getAll(key);
    query[key] = values.length === 1 ? (values[0] as string) : values;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: accessKeyId as string, secretAccessKey },
    region: region as string,
    service: service as string,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: (headers.host ?? 'localhost').split(':')[0] as string,
      path: request.rawPath,
      query,
      headers,
      body: request.body,
    },
    { signingDate, signableHeaders: new Set(signedHeaders), unsignableHeaders: new Set() },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1];
  if (expected !== signature) {
    return {
      ok: false,
      status: 403,
      error: 'InvalidSignatureException',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  }
  return { ok: true, unsigned: false, accessKeyId: accessKeyId as string };
}

/**
 * AWS's answer to a key it does not know ("The security token included in the request is
 * invalid."), with what to do locally: the stack accepts its own key, which `streamgate local env`
 * prints (docs/security.md, "What the local stack relaxes").
 */
export function unrecognizedKeyMessage(accessKeyId: string): string {
  return (
    `The security token included in the request is invalid. (local stack: access key ${accessKeyId} is not one it issued; ` +
    'run `eval "$(npx streamgate local env)"` to sign with its key)'
  );
}

/** What `verifySigV4` reads of an incoming request whose body has been read. */
export function signedRequestOf(req: IncomingMessage, body: Uint8Array): Parameters<typeof verifySigV4>[0] {
  return {
    method: req.method ?? 'POST',
    rawPath: (req.url ?? '/').split('?')[0] as string,
    query: new URL(req.url ?? '/', 'http://local').searchParams,
    headers: req.headers,
    body,
  };
}

/** `20260101T120000Z` → Date; undefined when malformed. */
function parseAmzDate(amzDate: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const amz = (ms: number) => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * AWS's rule for a signature's date: within `maxSkewMs` (15 minutes) of the server's clock, either
 * way. Returns AWS's wording of the refusal ("Signature expired: … is now earlier than …", "Signature
 * not yet current: … is still later than …"), or undefined when the date is within the window.
 */
export function signatureDateProblem(
  signingDate: Date,
  now: number,
  maxSkewMs = SIGV4_MAX_SKEW_MS,
): string | undefined {
  const at = signingDate.getTime();
  const minutes = Math.round(maxSkewMs / 60_000);
  if (at < now - maxSkewMs)
    return `Signature expired: ${amz(at)} is now earlier than ${amz(now - maxSkewMs)} (${amz(now)} - ${minutes} min.)`;
  if (at > now + maxSkewMs)
    return `Signature not yet current: ${amz(at)} is still later than ${amz(now + maxSkewMs)} (${amz(now)} + ${minutes} min.)`;
  return undefined;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
