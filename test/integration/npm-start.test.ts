import { spawn } from 'node:child_process';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPortOpen } from '../../local/process.ts';
import { stack, withKafkaAdmin } from './helpers.ts';

// Below Linux's ephemeral range (32768–60999): a client socket elsewhere in the suite can hold one of those.
const ports = { ws: 27099, wss: 27098, http: 27090, aws: 27091, dynamodb: 27001 };
const isOpen = (port: number) => isPortOpen(port, '127.0.0.1');
const keyIds = async (httpBase: string) =>
  ((await (await fetch(`${httpBase}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
    (key) => key.kid,
  );

describe('npm start', () => {
  it('comes up healthy, on an existing Kafka with --kafka, and Ctrl-C stops every process it started', async () => {
    // What an earlier start left in the state folder: the test stack's signing keys. --no-persist keeps nothing.
    const stateDir = path.join(stack.stateDir, 'npm-start');
    await mkdir(stateDir, { recursive: true });
    await copyFile(path.join(stack.stateDir, 'secrets.json'), path.join(stateDir, 'secrets.json'));
    const persisted = await readFile(path.join(stateDir, 'secrets.json'), 'utf8');
    const earlierKeys = await keyIds(stack.urls.http);
    expect(earlierKeys.length).toBeGreaterThan(0);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/start.ts',
        '--no-persist',
        '--state-dir',
        stateDir,
        '--kafka',
        stack.kafkaBrokers.join(','),
        '--ws-port',
        String(ports.ws),
        '--wss-port',
        String(ports.wss),
        '--http-port',
        String(ports.http),
        '--aws-port',
        String(ports.aws),
        '--dynamodb-port',
        String(ports.dynamodb),
      ],
      { cwd: stack.root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    const healthy = expect
      .poll(
        async () => (await fetch(`http://localhost:${ports.http}/health`).catch(() => undefined))?.status,
        {
          timeout: 120_000,
          interval: 500,
        },
      )
      .toBe(200);
    // A stack that cannot start exits: say so at once, with what it printed (that is where the reason is).
    await Promise.race([
      healthy,
      exited.then((code) => {
        throw new Error(`npm start exited (${code}) before it was healthy`);
      }),
    ]).catch((error: Error) => {
      throw new Error(`${error.message}; npm start printed:\n${output.slice(-6000)}`);
    });
    expect(output).toContain('streamgate local stack is up');
    expect(output).toContain(`ws://localhost:${ports.ws}/chats/1.0.0/rooms/room1`);
    expect(output).toContain(
      `Kafka bootstrap servers       127.0.0.1:19092 (external; consumer groups end in .local-${hostname()})`,
    );
    // Its pollers read in groups of their own: the test stack's consumers keep their partitions.
    const groups = await withKafkaAdmin(async (admin) =>
      (await admin.listGroups()).groups.map((g) => g.groupId),
    );
    expect(groups).toContain(`streamgate-train-locations.local-${hostname()}`);
    expect(groups).toContain('streamgate-train-locations');
    for (const port of Object.values(ports)) expect(await isOpen(port)).toBe(true);
    // The failure queue is in the banner, and its URL is the local SQS endpoint's.
    expect(output).toMatch(
      new RegExp(`Failure queue \\(SQS\\) +http://127\\.0\\.0\\.1:${ports.aws}/000000000000/\\S+`),
    );
    // Fresh signing keys: none of the earlier start's.
    const keys = await keyIds(`http://localhost:${ports.http}`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((kid) => earlierKeys.includes(kid))).toEqual([]);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) expect(await isOpen(port)).toBe(false);
    // …and it left the persisted keys as they were, for the next start with persist.
    expect(await readFile(path.join(stateDir, 'secrets.json'), 'utf8')).toBe(persisted);
  }, 180_000);
});
