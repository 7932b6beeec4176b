import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPortOpen } from '../../local/process.ts';
import { stack, withKafkaAdmin } from './helpers.ts';

// Below Linux's ephemeral range (32768–60999): a client socket elsewhere in the suite can hold one of those.
const ports = { ws: 27099, wss: 27098, http: 27090, aws: 27091, dynamodb: 27001 };
const isOpen = (port: number) => isPortOpen(port, '127.0.0.1');

describe('npm start', () => {
  it('comes up healthy, on an existing Kafka with --kafka, and Ctrl-C stops every process it started', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'local/start.ts',
        '--no-persist',
        '--state-dir',
        path.join(stack.stateDir, 'npm-start'),
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

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of Object.values(ports)) expect(await isOpen(port)).toBe(false);
  }, 180_000);
});
