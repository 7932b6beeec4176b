import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Options of {@link keepAliveRequestHandler}. */
export interface KeepAliveOptions {
  /** Sockets per origin, for each of HTTP and HTTPS. */
  maxSockets: number;
  /** Milliseconds to establish a connection. @default 2000 */
  connectionTimeout?: number;
  /** Milliseconds of socket inactivity before a request fails. @default 5000 */
  requestTimeout?: number;
}

/**
 * The request handler of streamgate's AWS SDK clients: keep-alive sockets (HTTPS on AWS, HTTP to
 * the local emulators), bounded by `maxSockets`, and short timeouts, so a slow call fails within
 * an invocation's budget instead of hanging it.
 */
export function keepAliveRequestHandler({
  maxSockets,
  connectionTimeout = 2_000,
  requestTimeout = 5_000,
}: KeepAliveOptions): NodeHttpHandler {
  return new NodeHttpHandler({
    httpAgent: new HttpAgent({ keepAlive: true, maxSockets }),
    httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets }),
    connectionTimeout,
    requestTimeout,
  });
}
