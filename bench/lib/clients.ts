import WebSocket from 'ws';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Open `n` WebSocket clients, 50 at a time. A handshake refused with 429 (the stage throttle) is
 * tried again after a pause, as a client would; any other refusal fails the benchmark.
 */
export async function connectMany(
  n: number,
  url: string,
  headers: Record<string, string>,
  onMessage: (data: WebSocket.RawData) => void,
): Promise<WebSocket[]> {
  const open = async (): Promise<WebSocket> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(url, { headers, perMessageDeflate: false });
          ws.on('message', onMessage);
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        });
      } catch (error) {
        if (attempt >= 20 || !/\b429\b/.test((error as Error).message)) throw error;
        await sleep(250 * (attempt + 1));
      }
    }
  };
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, open))));
    if (n >= 1000 && (i + 50) % 1000 === 0) process.stdout.write(`    ${i + 50}/${n}\n`);
  }
  return clients;
}
