/**
 * The "direct send" baseline of bench/connections-call.ts: a plain `ws` WebSocketServer with no
 * gateway, no HTTP-per-message and no SigV4 in between. Run as its own process (pinned to CPU 0 by
 * the benchmark, like the local stack): `node --import tsx bench/lib/raw-ws-server.ts <port>`.
 *
 *  - one WebSocket client connects (the benchmark's), at any path;
 *  - `POST /send?n=N&run=R` sends it N text frames `{"bench":"calls","run":R,"seq":i}` with
 *    `ws.send` as fast as the loop goes, then answers `{"ms": <elapsed>}` (the time to hand the
 *    frames to the socket, not the time until they arrive: the client measures that).
 *
 * Prints `listening <port>` once it accepts connections; exits on SIGTERM/SIGINT or stdin EOF.
 */
import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 30_050);
let client: WebSocket | undefined;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://raw-ws-server');
  req.resume();
  if (req.method !== 'POST' || url.pathname !== '/send') {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"POST /send?n=N"}');
    return;
  }
  const n = Number(url.searchParams.get('n') ?? '0');
  const run = Number(url.searchParams.get('run') ?? '0');
  if (!client || client.readyState !== client.OPEN) {
    res.writeHead(409, { 'content-type': 'application/json' }).end('{"message":"no client"}');
    return;
  }
  const socket = client;
  const started = performance.now();
  for (let i = 0; i < n; i++) socket.send(`{"bench":"calls","run":${run},"seq":${i}}`);
  const ms = performance.now() - started;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ms, n }));
});

const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => {
  client = ws;
  ws.on('close', () => {
    if (client === ws) client = undefined;
  });
});

server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));

const stop = () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The benchmark holds our stdin open: when it goes away (even killed), so do we.
process.stdin.on('end', stop);
process.stdin.resume();
