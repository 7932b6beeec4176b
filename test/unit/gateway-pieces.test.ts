import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { APIGatewayProxyWebsocketEventSchema } from '@aws-lambda-powertools/parser/schemas';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EdgeFunction } from '../../local/gateway/edge.ts';
import {
  authorizerEvent,
  awsStyleId,
  connectEvent,
  disconnectEvent,
  headerMaps,
  messageEvent,
  queryMaps,
  requestTime,
} from '../../local/gateway/events.ts';
import { FrameGuard } from '../../local/gateway/frame-guard.ts';
import { compileSelectionExpression } from '../../local/gateway/route-selection.ts';
import { isLoopbackHost } from '../../local/gateway/server.ts';
import { signatureDateProblem, verifySigV4 } from '../../local/gateway/sigv4.ts';
import { TokenBucket } from '../../local/gateway/token-bucket.ts';

describe('route selection expressions', () => {
  it('evaluate $request.body paths on JSON bodies', () => {
    const select = compileSelectionExpression('$request.body.action');
    expect(select('{"action":"subscribe"}')).toBe('subscribe');
    expect(select('{"action":7}')).toBe('7');
    expect(select('{"other":1}')).toBeUndefined();
    expect(select('{"action":{"nested":true}}')).toBeUndefined();
    expect(select('hello')).toBeUndefined();
    expect(compileSelectionExpression('$request.body.a.b')('{"a":{"b":"deep"}}')).toBe('deep');
  });

  it('interpolate $-brace expressions into literal text and keep \\$ literal', () => {
    const select = compileSelectionExpression('${request.body.service}/${request.body.action}');
    expect(select('{"service":"chat","action":"join"}')).toBe('chat/join');
    expect(compileSelectionExpression('\\$literal')('{}')).toBe('$literal');
  });

  it('refuse expressions outside request.body', () => {
    expect(() => compileSelectionExpression('${context.routeKey}')).toThrow(/request\.body/);
  });
});

/** A masked client frame header of `length` payload bytes. */
function frameHeader(length: number, opcode = 0x1, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([first, 0x80 | length, 1, 2, 3, 4]);
  if (length < 65536) return Buffer.from([first, 0x80 | 126, length >> 8, length & 0xff, 1, 2, 3, 4]);
  const header = Buffer.alloc(14);
  header[0] = first;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  header.set([1, 2, 3, 4], 10);
  return header;
}

describe('the 32 KB frame guard', () => {
  it('passes frames up to 32 KB, split across chunks however they arrive', () => {
    const sizes: number[] = [];
    const guard = new FrameGuard((size) => sizes.push(size));
    const stream = Buffer.concat([
      frameHeader(5),
      Buffer.alloc(5),
      frameHeader(32 * 1024),
      Buffer.alloc(32 * 1024),
      frameHeader(200),
      Buffer.alloc(200),
    ]);
    for (let i = 0; i < stream.length; i += 7) guard.push(stream.subarray(i, i + 7));
    expect(sizes).toEqual([]);
  });

  it('reports the first frame over 32 KB (16- and 64-bit lengths)', () => {
    for (const size of [32 * 1024 + 1, 70_000]) {
      const sizes: number[] = [];
      const guard = new FrameGuard((s) => sizes.push(s));
      guard.push(Buffer.concat([frameHeader(3), Buffer.alloc(3), frameHeader(size)]));
      expect(sizes).toEqual([size]);
    }
  });
});

describe('the edge function (the CloudFront Function source that is deployed)', () => {
  const source = readFileSync(path.resolve(import.meta.dirname, '../../lib/edge/viewer-request.js'), 'utf8');
  const edge = new EdgeFunction(source);
  const request = { headers: {}, method: 'GET', clientIp: '1.2.3.4' };

  it('moves a WSO2-style path into ?target=, keeping other parameters', () => {
    const out = edge.viewerRequest({
      ...request,
      uri: '/chats/1.0.0/rooms/room1',
      querystring: 'access_token=abc',
    });
    expect(out.uri).toBe('/');
    const query = new URLSearchParams(out.querystring);
    expect(query.get('target')).toBe('/chats/1.0.0/rooms/room1');
    expect(query.get('access_token')).toBe('abc');
  });

  it('keeps percent-encoded segments encoded through the query string', () => {
    const out = edge.viewerRequest({ ...request, uri: '/chats/1.0.0/rooms/room%201', querystring: '' });
    expect(new URLSearchParams(out.querystring).get('target')).toBe('/chats/1.0.0/rooms/room%201');
  });

  it('leaves the root alone', () => {
    expect(edge.viewerRequest({ ...request, uri: '/', querystring: 'target=%2Fa' })).toEqual({
      uri: '/',
      querystring: 'target=%2Fa',
    });
  });
});

describe('SigV4 verification', () => {
  const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'secret' };
  async function signed(body: string, secret = credentials.secretAccessKey) {
    const signer = new SignatureV4({
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: secret },
      region: 'us-east-1',
      service: 'execute-api',
      sha256: Sha256,
    });
    const request = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: 'localhost',
      port: 9099,
      path: '/prod/%40connections/abc%3D',
      query: {},
      headers: { host: 'localhost:9099', 'content-type': 'application/json' },
      body,
    });
    return request.headers as Record<string, string>;
  }

  it('accepts a correctly signed request and an unsigned one (marked unsigned)', async () => {
    const headers = await signed('hello');
    const request = { method: 'POST', rawPath: '/prod/%40connections/abc%3D', query: new URLSearchParams() };
    expect(await verifySigV4({ ...request, headers, body: Buffer.from('hello') }, credentials)).toEqual({
      ok: true,
      unsigned: false,
      accessKeyId: 'AKIDLOCAL',
    });
    expect(await verifySigV4({ ...request, headers: {}, body: Buffer.from('hello') }, credentials)).toEqual({
      ok: true,
      unsigned: true,
    });
  });

  it('refuses a tampered body, a wrong secret and an unknown key', async () => {
    const request = { method: 'POST', rawPath: '/prod/%40connections/abc%3D', query: new URLSearchParams() };
    const tampered = await verifySigV4(
      { ...request, headers: await signed('hello'), body: Buffer.from('hellO') },
      credentials,
    );
    expect(tampered).toMatchObject({ ok: false, status: 403, error: 'InvalidSignatureException' });
    const wrongSecret = await verifySigV4(
      { ...request, headers: await signed('hello', 'other'), body: Buffer.from('hello') },
      credentials,
    );
    expect(wrongSecret).toMatchObject({ ok: false, error: 'InvalidSignatureException' });
    const unknown = await verifySigV4(
      { ...request, headers: await signed('hello'), body: Buffer.from('hello') },
      { ...credentials, accessKeyId: 'OTHER' },
    );
    expect(unknown).toMatchObject({ ok: false, error: 'UnrecognizedClientException' });
  });

  /** A request signed as a caller chooses: date offset (s), service, headers left unsigned. */
  async function signedWith(options: { offsetSeconds?: number; service?: string; unsigned?: string[] }) {
    const signer = new SignatureV4({
      credentials,
      region: 'us-east-1',
      service: options.service ?? 'execute-api',
      sha256: Sha256,
    });
    const request = await signer.sign(
      {
        method: 'POST',
        protocol: 'http:',
        hostname: 'localhost',
        port: 9099,
        path: '/prod/%40connections/abc%3D',
        query: {},
        headers: { host: 'localhost:9099' },
        body: 'hello',
      },
      {
        signingDate: new Date(Date.now() + (options.offsetSeconds ?? 0) * 1000),
        ...(options.unsigned ? { unsignableHeaders: new Set(options.unsigned) } : {}),
      },
    );
    return verifySigV4(
      {
        method: 'POST',
        rawPath: '/prod/%40connections/abc%3D',
        query: new URLSearchParams(),
        headers: request.headers as Record<string, string>,
        body: Buffer.from('hello'),
      },
      credentials,
      { service: 'execute-api' },
    );
  }

  it('takes a signature dated within 15 minutes either way, refuses one outside (AWS wording)', async () => {
    expect(await signedWith({ offsetSeconds: -14 * 60 })).toEqual({
      ok: true,
      unsigned: false,
      accessKeyId: 'AKIDLOCAL',
    });
    expect(await signedWith({ offsetSeconds: 14 * 60 })).toEqual({
      ok: true,
      unsigned: false,
      accessKeyId: 'AKIDLOCAL',
    });
    const old = await signedWith({ offsetSeconds: -2 * 86_400 });
    expect(old).toMatchObject({ ok: false, status: 403, error: 'InvalidSignatureException' });
    expect(old.ok ? '' : old.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    const ahead = await signedWith({ offsetSeconds: 20 * 60 });
    expect(ahead.ok ? '' : ahead.message).toMatch(/^Signature not yet current/);
  });

  it('requires host among the signed headers and the execute-api service in the scope', async () => {
    const hostless = await signedWith({ unsigned: ['host'] });
    expect(hostless).toMatchObject({ ok: false, status: 403, error: 'IncompleteSignatureException' });
    expect(hostless.ok ? '' : hostless.message).toMatch(/'Host' or ':authority' must be a 'SignedHeader'/);
    const lambda = await signedWith({ service: 'lambda' });
    expect(lambda).toMatchObject({
      ok: false,
      status: 403,
      message: "Credential should be scoped to correct service: 'execute-api'.",
    });
  });

  it('dates: the window is 15 minutes and inclusive', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(signatureDateProblem(new Date(now - 15 * 60_000), now)).toBeUndefined();
    expect(signatureDateProblem(new Date(now - 15 * 60_000 - 1000), now)).toBe(
      'Signature expired: 20260101T114459Z is now earlier than 20260101T114500Z (20260101T120000Z - 15 min.)',
    );
  });

  it('unsigned @connections calls may be allowed only on loopback hosts', () => {
    expect(['127.0.0.1', 'localhost', '::1', '127.1.2.3'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['0.0.0.0', '192.168.1.4', 'example.com', '::'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('event pieces', () => {
  it('format requestTime as API Gateway does', () => {
    expect(requestTime(new Date(Date.UTC(2020, 11, 13, 10, 17, 47)))).toBe('13/Dec/2020:10:17:47 +0000');
  });

  it('make ids shaped like API Gateway connection ids, never with a slash', () => {
    for (let i = 0; i < 200; i++) expect(awsStyleId()).toMatch(/^[A-Za-z0-9+]{15}=$/);
  });

  it('keep header spelling and fold repeats; last query value wins in the single map', () => {
    expect(headerMaps(['Host', 'h', 'X-A', '1', 'X-A', '2'])).toEqual({
      headers: { Host: 'h', 'X-A': '1,2' },
      multiValueHeaders: { Host: ['h'], 'X-A': ['1', '2'] },
    });
    expect(queryMaps(new URLSearchParams('a=1&a=2&b=x'))).toEqual({
      queryStringParameters: { a: '2', b: 'x' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x'] },
    });
    expect(queryMaps(new URLSearchParams(''))).toEqual({});
  });
});

/**
 * The emulator's events against Powertools' published schema of API Gateway's WebSocket event, so
 * they cannot drift from AWS's shape. That schema is modelled on the $connect event as a REQUEST
 * authorizer receives it (type, methodArn, both query maps); the Lambda proxy events of $connect,
 * routes and $disconnect carry a subset of its top-level fields (no type/methodArn; a frame has no
 * headers) and the requestContext fields AWS documents for them alone (messageId, disconnect*,
 * authorizer). Both checks are strict: a field the schema does not know fails the test as surely
 * as a missing or mistyped one.
 */
describe("the emulator's WebSocket events match the published API Gateway schema", () => {
  const published = APIGatewayProxyWebsocketEventSchema;
  // The emulator's authorizer event has no isBase64Encoded, which the schema requires (its example
  // ends with `"isBase64Encoded": false, "body": null`); AWS's own example of that input does not
  // settle it, so the emulator is left as it is and this one difference is allowed here.
  const authorizerSchema = published
    .extend({ requestContext: published.shape.requestContext.strict() })
    .partial({ isBase64Encoded: true })
    .strict();
  const proxySchema = published
    .omit({ type: true, methodArn: true, stageVariables: true })
    .partial({
      headers: true,
      multiValueHeaders: true,
      queryStringParameters: true,
      multiValueQueryStringParameters: true,
      body: true,
    })
    .extend({
      requestContext: published.shape.requestContext
        .extend({
          messageId: z.string().nullable().optional(),
          disconnectStatusCode: z.number().nullable().optional(),
          disconnectReason: z.string().nullable().optional(),
          authorizer: z.record(z.string(), z.unknown()).optional(),
        })
        .strict(),
    })
    .strict();

  const api = { apiId: 'abcdef123', stage: 'local' };
  const connection = {
    connectionId: 'L0SM9cOFvHcCIhw=',
    connectedAt: 1_674_162_806_344,
    sourceIp: '192.0.2.1',
    userAgent: 'wscat',
    domainName: 'abcdef123.execute-api.us-east-1.amazonaws.com',
  };
  const rawHeaders = [
    'Host',
    connection.domainName,
    'Sec-WebSocket-Version',
    '13',
    'X-Custom',
    'a',
    'x-custom',
    'b',
  ];
  const query = new URLSearchParams('target=%2Ft%2Fchats%2F1.0.0&token=abc');
  const strictOk = (schema: z.ZodType, event: unknown) => {
    const result = schema.safeParse(event);
    expect(result.success, result.error ? z.prettifyError(result.error) : '').toBe(true);
  };

  it('the REQUEST authorizer event of $connect is the schema exactly', () => {
    strictOk(authorizerSchema, authorizerEvent(api, connection, rawHeaders, query));
  });

  it('the $connect proxy event', () => {
    const event = connectEvent(api, { ...connection, authorizer: { principalId: 'app' } }, rawHeaders, query);
    strictOk(proxySchema, event);
    expect(event.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageId: null,
    });
    strictOk(
      proxySchema,
      connectEvent(api, { ...connection, userAgent: undefined }, [], new URLSearchParams()),
    );
  });

  it('a frame on a route', () => {
    const event = messageEvent(api, connection, 'subscribe', '{"action":"subscribe"}');
    strictOk(proxySchema, event);
    expect(event.requestContext).toMatchObject({ routeKey: 'subscribe', eventType: 'MESSAGE' });
    expect(event.requestContext.messageId).toEqual(expect.any(String));
    expect(event).not.toHaveProperty('headers');
  });

  it('the $disconnect event', () => {
    const event = disconnectEvent(api, connection, 1001, 'Going away');
    strictOk(proxySchema, event);
    expect(event.requestContext).toMatchObject({
      routeKey: '$disconnect',
      eventType: 'DISCONNECT',
      disconnectStatusCode: 1001,
      disconnectReason: 'Going away',
    });
  });

  it('the checks can fail: a misspelt or mistyped field is refused', () => {
    const event = messageEvent(api, connection, '$default', 'hi');
    const { connectionId, ...rest } = event.requestContext;
    expect(
      proxySchema.safeParse({ ...event, requestContext: { ...rest, conectionId: connectionId } }).success,
    ).toBe(false);
    expect(proxySchema.safeParse({ ...event, isBase64Encoded: 'false' }).success).toBe(false);
    expect(
      authorizerSchema.safeParse({ ...authorizerEvent(api, connection, [], query), extra: 1 }).success,
    ).toBe(false);
  });
});

describe('stage throttling', () => {
  it('allows the burst, then the rate', async () => {
    const bucket = new TokenBucket(10, 3);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, true, false]);
    await new Promise((r) => setTimeout(r, 120));
    expect(bucket.take()).toBe(true);
  });
});
