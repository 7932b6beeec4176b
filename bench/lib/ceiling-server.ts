/**
 * Contender (c), the ceiling: one raw `ws` server, nothing else — each event is one pre-built
 * buffer sent to every connected client in a loop. Run as its own process (pinned like the stack):
 *   node --import tsx bench/lib/ceiling-server.ts <ws port> <control port>
 * POST http://127.0.0.1:<control port>/broadcast with the event as the body; GET /clients.
 */
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const [wsPort, controlPort] = process.argv.slice(2).map(Number);
const wss = new WebSocketServer({ port: wsPort, perMessageDeflate: false });

createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.url === '/broadcast') {
      const event = Buffer.concat(chunks);
      for (const client of wss.clients) client.send(event);
      res.writeHead(204).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ clients: wss.clients.size }));
  });
}).listen(controlPort, '127.0.0.1', () => process.stdout.write('ready\n'));
