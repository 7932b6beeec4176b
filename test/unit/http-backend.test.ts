import { describe, expect, it, vi } from 'vitest';
import { HttpBackend } from '../../lambdas/adapters/http-backend.ts';
import { SIGNATURE_HEADER, verifyBackendSignature } from '../../lambdas/core/backend-signature.ts';
import { refusal } from '../helpers/refusal.ts';

const context = {
  api: 'carbon.super/Chats/1.0.0',
  topic: '/räume/1',
  connectionId: 'c1',
  application: { appId: 'app-1', appName: 'Shop' },
  clientId: 'client-1',
  keyType: 'PRODUCTION',
  contentType: 'text/plain; charset=utf-8',
};

describe('the http backend adapter', () => {
  it('posts the frame with X-Streamgate-* headers (non-ASCII values URL-encoded) and returns the reply', async () => {
    const fetchImpl = vi.fn(async () => new Response('pong', { status: 200 }));
    const reply = await new HttpBackend(fetchImpl).post('http://backend.test/x', 'ping', context, 1_000);
    expect([reply.status, reply.body]).toEqual([200, 'pong']);
    const init = (fetchImpl.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(init.body).toBe('ping');
    expect(init.headers).toMatchObject({
      'x-streamgate-topic': encodeURIComponent('/räume/1'),
      'x-streamgate-application': 'Shop',
      'x-streamgate-key-type': 'PRODUCTION',
    });
  });

  it('an unreachable backend is a 502 that names neither the host nor the network reason (the cause keeps them)', async () => {
    const failure = new TypeError('fetch failed', {
      cause: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.3.7:8443' },
    });
    const error = await refusal(
      new HttpBackend(async () => Promise.reject(failure)).post(
        'http://internal.corp:8443',
        'x',
        context,
        1_000,
      ),
    );
    expect([error.status, error.message, error.details]).toEqual([
      502,
      'the backend could not be reached',
      undefined,
    ]);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toMatch(
      /ECONNREFUSED|internal\.corp|10\.0\.3\.7/,
    );
    expect(error.cause).toBe(failure);
  });

  it('a reply that breaks off is a 502 without the network reason', async () => {
    const broken = new Response(
      new ReadableStream({
        start(controller) {
          controller.error(new TypeError('terminated', { cause: { code: 'ECONNRESET' } }));
        },
      }),
      { status: 200 },
    );
    const error = await refusal(
      new HttpBackend(async () => broken).post('http://backend.test', 'x', context, 1_000),
    );
    expect([error.status, error.message]).toEqual([502, "the backend's reply broke off"]);
  });

  it('signs each request (t=…,v1=… over method, path and query, body) so the backend can tell it from a forgery', async () => {
    const fetchImpl = vi.fn(async () => new Response(null, { status: 204 }));
    const secret = 'per-stack-secret';
    await new HttpBackend(fetchImpl, async () => secret).post(
      'http://backend.test/prod?room=a',
      '{"n":1}',
      context,
      1_000,
    );
    const headers = (fetchImpl.mock.calls[0] as unknown as [string, RequestInit])[1].headers as Record<
      string,
      string
    >;
    const header = headers[SIGNATURE_HEADER];
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const request = { method: 'POST', path: '/prod?room=a', body: '{"n":1}' };
    expect(verifyBackendSignature(header, request, secret)).toMatchObject({ valid: true });
    expect(verifyBackendSignature(header, { ...request, body: '{"n":2}' }, secret)).toEqual({
      valid: false,
      reason: 'mismatch',
    });
    expect(verifyBackendSignature(header, { ...request, path: '/prod?room=b' }, secret)).toMatchObject({
      valid: false,
    });
  });

  it('sends no signature without a secret (no http channel in the catalog)', async () => {
    const fetchImpl = vi.fn(async () => new Response(null, { status: 204 }));
    await new HttpBackend(fetchImpl).post('http://backend.test/x', 'ping', context, 1_000);
    const init = (fetchImpl.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(Object.keys(init.headers as object)).not.toContain(SIGNATURE_HEADER);
  });

  it('a backend that does not answer in time is a 504', async () => {
    const timeout = new DOMException('timed out', 'TimeoutError');
    const error = await refusal(
      new HttpBackend(async () => Promise.reject(timeout)).post('http://backend.test', 'x', context, 250),
    );
    expect([error.status, error.message, error.cause]).toEqual([
      504,
      'the backend did not answer within 250 ms',
      timeout,
    ]);
  });

  it('a failing backend is a 502 with its status in the details', async () => {
    const error = await refusal(
      new HttpBackend(async () => new Response('no', { status: 503 })).post(
        'http://b.test',
        'x',
        context,
        1_000,
      ),
    );
    expect([error.status, error.details]).toEqual([502, { backendStatus: 503 }]);
  });
});
