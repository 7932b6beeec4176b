/**
 * Verifies AWS Signature Version 4 on requests to the local `@connections` API and local AWS
 * services, the way AWS does: the signature is recomputed from the signed headers, path, query and
 * body with the local stack's credentials, and must match.
 */
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { NodeSha256 } from '../../lambdas/adapters/node-sha256.ts';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export type SigV4Result =
  | { ok: true; unsigned: boolean }
  | { ok: false; status: number; error: string; message: string };

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
  credentials: LocalCredentials,
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
  if (accessKeyId !== credentials.accessKeyId) {
    return {
      ok: false,
      status: 403,
      error: 'UnrecognizedClientException',
      message: `The security token included in the request is invalid (unknown access key ${accessKeyId})`,
    };
  }
  const amzDate = firstHeader(request.headers['x-amz-date']);
  if (!amzDate) {
    return {
      ok: false,
      status: 403,
      error: 'IncompleteSignatureException',
      message: 'X-Amz-Date header is missing',
    };
  }
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
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region: region as string,
    service: service as string,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const signingDate = new Date(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
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
  return { ok: true, unsigned: false };
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
