/**
 * A real WebSocket client (`ws`) for the scenarios and the integration tests: it records every
 * message, waits for one that matches, and turns a refused handshake into `HandshakeRefused` with
 * the HTTP status and body. It needs nothing of vitest, so the AWS parity runner
 * (scripts/test-aws.ts) uses it too.
 */
import WebSocket from 'ws';

export interface Client {
  ws: WebSocket;
  /** Every message received so far (text). */
  received: string[];
  /** Resolves with the first message (already received or next) that matches. */
  waitFor(predicate: (message: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves after `ms` with what arrived meanwhile. */
  quietFor(ms: number): Promise<string[]>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** The server answered the upgrade request with an HTTP status instead of 101 (`body` as sent). */
export class HandshakeRefused extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`handshake refused: ${status} ${body}`);
  }
}

/**
 * Opens a WebSocket to `url` (ws: or wss:), with the token as `Authorization: Bearer` or, `via:
 * 'query'`, as `?access_token=`. `waitMs` is the default timeout of `waitFor` (ms, 5,000).
 * Rejects with `HandshakeRefused` when the server refuses the upgrade, else with the socket error.
 */
export function connect(
  url: string,
  options: {
    token?: string;
    via?: 'header' | 'query';
    headers?: Record<string, string>;
    rejectUnauthorized?: boolean;
    waitMs?: number;
  } = {},
): Promise<Client> {
  const via = options.via ?? 'header';
  let fullUrl = url;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token && via === 'query') {
    fullUrl += `${url.includes('?') ? '&' : '?'}access_token=${encodeURIComponent(options.token)}`;
  } else if (options.token) {
    headers.Authorization = `Bearer ${options.token}`;
  }
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(fullUrl, {
      headers,
      ...(options.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    });
    const received: string[] = [];
    const waiters: { predicate: (m: string) => boolean; resolve: (m: string) => void }[] = [];
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `binary:${(data as Buffer).toString('hex')}` : data.toString();
      received.push(text);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(text)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(text);
        }
      }
    });
    const closed = new Promise<{ code: number; reason: string }>((resolveClose) =>
      ws.on('close', (code, reason) => resolveClose({ code, reason: reason.toString() })),
    );
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => reject(new HandshakeRefused(res.statusCode ?? 0, body)));
    });
    ws.on('error', (error) => reject(error));
    ws.on('open', () =>
      resolve({
        ws,
        received,
        closed,
        close: () => ws.close(),
        waitFor(predicate, timeoutMs = options.waitMs ?? 5_000) {
          const found = received.find(predicate);
          if (found !== undefined) return Promise.resolve(found);
          return new Promise((resolveWait, rejectWait) => {
            const timer = setTimeout(() => {
              waiters.splice(
                waiters.findIndex((w) => w.resolve === done),
                1,
              );
              rejectWait(
                new Error(`no matching message within ${timeoutMs} ms; received ${JSON.stringify(received)}`),
              );
            }, timeoutMs);
            const done = (message: string) => {
              clearTimeout(timer);
              resolveWait(message);
            };
            waiters.push({ predicate, resolve: done });
          });
        },
        async quietFor(ms) {
          const before = received.length;
          await new Promise((r) => setTimeout(r, ms));
          return received.slice(before);
        },
      }),
    );
  });
}

/** The `HandshakeRefused` a connection attempt ends with; throws when it is accepted or fails otherwise. */
export async function refusal(promise: Promise<unknown>): Promise<HandshakeRefused> {
  const error = await promise.then(
    (client) => {
      (client as Client).close();
      return new Error('the handshake was accepted');
    },
    (e: unknown) => e,
  );
  if (!(error instanceof HandshakeRefused)) throw error;
  return error;
}
