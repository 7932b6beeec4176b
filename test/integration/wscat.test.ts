import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { wscatChatScenario } from '../scenarios/seeds.ts';
import { connect, localTarget, stack, tokenFor, unique, wsUrl } from './helpers.ts';

const run = promisify(execFile);
const wscat = path.join(stack.root, 'node_modules', '.bin', 'wscat');

describe('wscat, as the seeds use it', () => {
  it('connects with -H "Authorization: Bearer …", sends, and receives what others send', async () => {
    const token = await tokenFor();
    const room = unique('room');
    const listener = await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token });
    const talker = run(wscat, [
      '-c',
      wsUrl(`/testchats/1.0.0/rooms/${room}`),
      '-H',
      `Authorization: Bearer ${token}`,
      '-x',
      'hello from wscat',
      '-w',
      '2',
    ]);
    expect(await listener.waitFor((m) => m === 'hello from wscat', 10_000)).toBeTruthy();
    listener.ws.send('hello back');
    const { stdout } = await talker;
    expect(stdout).toContain('hello back');
    listener.close();
  });

  it('connects with ?access_token= (the browsers’ way) and is refused without a token', async () => {
    const token = await tokenFor();
    const room = unique('room');
    const listener = await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token });
    await run(wscat, [
      '-c',
      `${wsUrl(`/testchats/1.0.0/rooms/${room}`)}?access_token=${token}`,
      '-x',
      'via query',
      '-w',
      '1',
    ]);
    expect(await listener.waitFor((m) => m === 'via query')).toBeTruthy();
    listener.close();
    const refused = await run(wscat, [
      '-c',
      wsUrl(`/testchats/1.0.0/rooms/${room}`),
      '-x',
      'x',
      '-w',
      '1',
    ]).catch((error: { stdout: string; stderr: string }) => error);
    expect(`${(refused as { stdout: string }).stdout}${(refused as { stderr: string }).stderr}`).toMatch(
      /Unexpected server response: 401/,
    );
  });

  // The seed scenario `npm run test:aws` runs against a deployed stack: seed 001's chat API.
  it('on the seed’s chat API: header and query tokens talk, no token gets 401', () =>
    wscatChatScenario(localTarget()));
});
