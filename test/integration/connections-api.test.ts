import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Client,
  connect,
  connectionIdsOn,
  connectionStore,
  stack,
  tokenFor,
  unique,
  wsUrl,
} from './helpers.ts';

const run = promisify(execFile);
let token: string;
const open: Client[] = [];

beforeAll(async () => {
  token = await tokenFor();
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});

/** A client on its own room, and its connection id. */
async function connected(): Promise<{ client: Client; id: string; topicKey: string }> {
  const room = unique('room');
  const client = await connect(wsUrl(`/testchats/1.0.0/rooms/${room}`), { token });
  open.push(client);
  const topicKey = `carbon.super/testchats/1.0.0/rooms/${room}`;
  const [id] = await connectionIdsOn(topicKey);
  return { client, id: id as string, topicKey };
}

const sdk = (endpoint = stack.urls.callback, credentials = stack.credentials) =>
  new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials });

const cliEnv = () => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
});

describe('the @connections API', () => {
  it('takes post-to-connection from the AWS CLI (SigV4 signed)', async () => {
    const { client, id } = await connected();
    await run(
      'aws',
      [
        'apigatewaymanagementapi',
        'post-to-connection',
        '--endpoint-url',
        stack.urls.callback,
        '--connection-id',
        id,
        '--data',
        'hello from the AWS CLI',
        // AWS CLI v2 reads blobs as base64 unless told otherwise; v1 (pip's awscli) takes them raw.
        ...((await run('aws', ['--version'])).stdout.startsWith('aws-cli/2')
          ? ['--cli-binary-format', 'raw-in-base64-out']
          : []),
      ],
      { env: cliEnv() },
    );
    expect(await client.waitFor((m) => m === 'hello from the AWS CLI')).toBeTruthy();
  });

  it('takes PostToConnection and GetConnection from the AWS SDK at the stage; without the stage 403, as execute-api', async () => {
    const { client, id } = await connected();
    await sdk().send(new PostToConnectionCommand({ ConnectionId: id, Data: 'with the stage' }));
    await expect(
      sdk(`http://localhost:${stack.ports.ws}`).send(
        new PostToConnectionCommand({ ConnectionId: id, Data: 'without' }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
    await client.waitFor((m) => m === 'with the stage');
    await client.quietFor(300);
    expect(client.received).toEqual(['with the stage']);
    const info = await sdk().send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.LastActiveAt).toBeInstanceOf(Date);
    expect(info.Identity?.SourceIp).toBe('127.0.0.1');
  });

  it('passes binary data untouched (as a binary frame)', async () => {
    const { client, id } = await connected();
    const bytes = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41]);
    await sdk().send(new PostToConnectionCommand({ ConnectionId: id, Data: bytes }));
    expect(await client.waitFor((m) => m.startsWith('binary:'))).toBe(`binary:${bytes.toString('hex')}`);
  });

  it('answers 410 Gone for unknown and closed connections', async () => {
    await expect(
      sdk().send(new PostToConnectionCommand({ ConnectionId: 'NoSuchConn00A=', Data: 'x' })),
    ).rejects.toBeInstanceOf(GoneException);
    const { client, id } = await connected();
    client.close();
    await client.closed;
    await expect(
      sdk().send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' })),
    ).rejects.toMatchObject({
      name: 'GoneException',
      $metadata: { httpStatusCode: 410 },
    });
    const cli = await run(
      'aws',
      [
        'apigatewaymanagementapi',
        'post-to-connection',
        '--endpoint-url',
        stack.urls.callback,
        '--connection-id',
        id,
        '--data',
        'x',
      ],
      { env: cliEnv() },
    ).catch((error: { stderr: string }) => error);
    expect((cli as { stderr: string }).stderr).toMatch(/GoneException/);
  });

  it('refuses unsigned calls (npm start has no --allow-unsigned-connections here)', async () => {
    const { client, id } = await connected();
    const response = await fetch(`${stack.urls.callback}/@connections/${encodeURIComponent(id)}`, {
      method: 'POST',
      body: 'unsigned',
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 403,
      body: { message: 'Missing Authentication Token' },
    });
    expect(await client.quietFor(300)).toEqual([]);
  });

  it('refuses a bad signature with 403', async () => {
    const { id } = await connected();
    await expect(
      sdk(stack.urls.callback, { ...stack.credentials, secretAccessKey: 'wrong' }).send(
        new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }),
      ),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
  });

  it('DELETE closes the connection (1000) and runs $disconnect', async () => {
    const { client, id } = await connected();
    await sdk().send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await client.closed).code).toBe(1000);
    await expect.poll(() => connectionStore().get(id), { timeout: 5_000 }).toBeUndefined();
  });
});
