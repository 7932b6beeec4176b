import { describe, expect, it, vi } from 'vitest';
import { HttpBackend } from '../../lambdas/adapters/http-backend.ts';
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

  it('an unreachable backend is a 502 that names the network reason and keeps the error as its cause', async () => {
    const failure = new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
    const error = await refusal(
      new HttpBackend(async () => Promise.reject(failure)).post('http://backend.test', 'x', context, 1_000),
    );
    expect([error.status, error.message]).toEqual([502, 'the backend could not be reached (ECONNREFUSED)']);
    expect(error.cause).toBe(failure);
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
