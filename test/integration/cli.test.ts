import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Parser } from '@asyncapi/parser';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { type Client, connect, stack, wsUrl } from './helpers.ts';

const run = promisify(execFile);
const open: Client[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/** The `streamgate` command as users run it, against the test stack. */
async function streamgate(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(
    process.execPath,
    [path.join(stack.root, 'cli', 'streamgate.mjs'), ...args, '--endpoint', stack.urls.http],
    {
      env: { ...process.env, STREAMGATE_STATE_DIR: stack.stateDir },
      timeout: 30_000,
    },
  );
}

describe('the streamgate command', () => {
  it('exports a deployed API as an AsyncAPI document that AsyncAPI tools accept', async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'streamgate-export-')), 'chats.yaml');
    const { stderr } = await streamgate('apis', 'export', '/chats/1.0.0', '--yaml', '--out', out);
    expect(stderr).toContain(`wrote the AsyncAPI document of Chats 1.0.0 to ${out}`);
    const text = await readFile(out, 'utf8');
    const { diagnostics } = await new Parser().parse(text);
    expect(diagnostics.filter((d) => d.severity === 0)).toEqual([]);
    const doc = parseYaml(text);
    expect(doc.servers).toEqual({
      production: expect.objectContaining({ url: `${stack.urls.wss}/chats/1.0.0`, protocol: 'wss' }),
      stage: expect.objectContaining({ url: `${stack.urls.ws}/${stack.stageName}`, protocol: 'wss' }),
    });
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials).toEqual({
      tokenUrl: `${stack.urls.http}/oauth2/token`,
      scopes: expect.any(Object),
    });
    expect(Object.keys(doc.channels)).toEqual(expect.arrayContaining(['/notifications', '/rooms/{roomID}']));
    expect(text).not.toMatch(/x-streamgate|x-uri-mapping|chat-backend/);
  });

  it('issues a token and publishes to a topic’s subscribers, as a backend would', async () => {
    const { stdout: token } = await streamgate('token', '--api', '/chats/1.0.0');
    expect(token.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const listener = await connect(wsUrl('/chats/1.0.0/notifications'), { token: token.trim() });
    open.push(listener);
    await listener.waitFor((m) => m === 'Subscribed to notifications!');
    const { stdout } = await streamgate('publish', '/chats/1.0.0', '/notifications', 'maintenance at five');
    expect(stdout.trim()).toBe('delivered to 1 of 1 subscribers');
    expect(await listener.waitFor((m) => m === 'maintenance at five')).toBeTruthy();
  });

  it('says precisely what is wrong', async () => {
    const failure = await streamgate('publish', '/chats/1.0.0', '/nowhere', 'x').then(
      () => undefined,
      (e: { stderr: string; code: number }) => e,
    );
    expect(failure?.code).not.toBe(0);
    expect(failure?.stderr).toMatch(/404/);
  });
});
