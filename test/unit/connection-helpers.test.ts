import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { keepAliveRequestHandler } from '../../lambdas/adapters/keep-alive.ts';
import { assertPortFree, isPortOpen, waitForPort } from '../../local/process.ts';

describe('the TCP port probe', () => {
  it('sees a listening port as open, and closed once the server is gone', async () => {
    const server = createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    expect(await isPortOpen(port, '127.0.0.1')).toBe(true);
    await waitForPort(port, '127.0.0.1', 1_000);
    await expect(assertPortFree(port, '127.0.0.1', 'the test port')).rejects.toThrow(
      `port ${port} (the test port) is already in use`,
    );
    // The message names the npm start option that moves the port.
    await expect(assertPortFree(port, '127.0.0.1', 'kafkaController')).rejects.toThrow(
      /\(--kafka-controller-port <port>\)\.$/,
    );
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await isPortOpen(port, '127.0.0.1')).toBe(false);
    await assertPortFree(port, '127.0.0.1', 'the test port');
    await expect(waitForPort(port, '127.0.0.1', 150)).rejects.toThrow(
      `nothing listened on 127.0.0.1:${port}`,
    );
  });
});

describe('the keep-alive request handler of the SDK clients', () => {
  it('keeps HTTP and HTTPS sockets alive, bounded, with short timeouts by default', async () => {
    const server = createHttpServer((req, res) => res.end(req.headers.connection ?? ''));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const handler = keepAliveRequestHandler({ maxSockets: 7 });
      // The handler resolves its configuration on the first request.
      const { response } = await handler.handle({
        protocol: 'http:',
        hostname: '127.0.0.1',
        port,
        method: 'GET',
        path: '/',
        query: {},
        headers: {},
      } as Parameters<typeof handler.handle>[0]);
      const body = response.body as NodeJS.ReadableStream;
      let text = '';
      for await (const chunk of body) text += String(chunk);
      expect(text).toBe('keep-alive');
      const config = handler.httpHandlerConfigs();
      for (const agent of [config.httpAgent, config.httpsAgent]) {
        expect(agent).toMatchObject({ keepAlive: true, maxSockets: 7 });
      }
      expect(config).toMatchObject({ connectionTimeout: 2_000, requestTimeout: 5_000 });
      handler.destroy();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
