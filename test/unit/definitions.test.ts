import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kafkaParameterSource, loadCatalog, parseDefinition } from '../../lib/definitions/load.ts';
import { DefinitionError } from '../../lib/definitions/problems.ts';

const apisDir = path.resolve(import.meta.dirname, '../../apis');

const minimal = (extra: string) => `asyncapi: 2.6.0
info:
  title: Broken
  version: 1.0.0
${extra}`;

async function problemsOf(source: string) {
  const { problems, api } = await parseDefinition(source, 'apis/broken.yaml');
  return { problems, api };
}

describe('the shipped API definitions', () => {
  it('are valid and describe the seeds', async () => {
    const catalog = await loadCatalog(apisDir, { displayRoot: path.resolve(apisDir, '..') });
    const byName = Object.fromEntries(catalog.apis.map((a) => [a.name, a]));
    expect(Object.keys(byName).sort()).toEqual([
      'Chats',
      'EchoWebSocket',
      'SweetProdApp',
      'TrainRealLocationAPI',
    ]);

    const chats = byName.Chats;
    expect(chats?.context).toBe('/chats');
    expect(chats?.channels.map((c) => [c.name, c.pub, c.sub, c.uriMapping])).toEqual([
      ['/notifications', true, true, '/notifications'],
      ['/rooms/{roomID}', true, true, '/rooms?room={uri.var.roomID}'],
      ['/announcements', false, true, undefined],
    ]);
    expect(chats?.channels[2]?.backend).toMatchObject({ type: 'kafka', topic: 'chat-announcements' });
    expect(chats?.channels[1]?.subScopes).toEqual(['chat:read']);
    expect(chats?.channels[1]?.pubScopes).toEqual(['chat:write']);

    const train = byName.TrainRealLocationAPI;
    expect(train?.tenant).toBe('quantis.com');
    expect(train?.channels[0]?.backend).toEqual({
      type: 'kafka',
      topic: 'train-locations',
      parameters: { trainID: { from: 'key' } },
      coalesce: false,
    });
    expect(train?.channels[0]?.format).toBe('json');
    expect(byName.SweetProdApp?.channels[0]?.format).toBe('xml');
    expect(byName.EchoWebSocket?.endpoints).toEqual({
      production: 'ws://echo.websocket.events',
      sandbox: 'ws://echo.websocket.events',
    });
  });
});

describe('a broken definition', () => {
  it('names the file, the JSON path and the line of a schema error found by @asyncapi/parser', async () => {
    const { problems } = await problemsOf(
      minimal(`x-streamgate: {context: /b}
channels:
  /x:
    subscribe:
      message:
        payload:
          type: 12
`),
    );
    const problem = problems.find((p) => p.path.endsWith('payload.type'));
    expect(problem?.file).toBe('apis/broken.yaml');
    expect(problem?.path).toBe("$.channels['/x'].subscribe.message.payload.type");
    expect(problem?.line).toBe(11);
  });

  it('needs x-streamgate with a context', async () => {
    const { problems } = await problemsOf(minimal('channels:\n  /x:\n    subscribe: {}\n'));
    expect(problems).toEqual([
      expect.objectContaining({ path: "$['x-streamgate']", message: expect.stringMatching(/required/) }),
    ]);
  });

  it('reports each bad streamgate extension with its path and line', async () => {
    const { problems } = await problemsOf(
      minimal(`x-streamgate:
  context: chats
  tenant: Quantis.COM
  lifecycle: LIVE
  plans: [Gold, "not a plan"]
  colour: blue
channels:
  /rooms/{roomID}:
    publish:
      x-uri-mapping: /rooms?room={uri.var.room}
    parameters:
      roomID:
        schema: {type: string}
`),
    );
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p]));
    expect(byPath["$['x-streamgate'].context"]?.message).toMatch(/context must look like/);
    expect(byPath["$['x-streamgate'].context"]?.line).toBe(6);
    expect(byPath["$['x-streamgate'].tenant"]?.message).toMatch(/lower-case domain/);
    expect(byPath["$['x-streamgate'].lifecycle"]?.message).toMatch(/PUBLISHED/);
    expect(byPath["$['x-streamgate'].plans[1]"]?.message).toMatch(/not a valid name/);
    expect(byPath["$['x-streamgate'].colour"]?.message).toMatch(/unknown property/);
    expect(problems.some((p) => /uri\.var\.room\b.*no such parameter/.test(p.message))).toBe(true);
  });

  it('requires a Kafka-bound channel to say where its parameters come from', async () => {
    const { problems } = await problemsOf(
      minimal(`x-streamgate: {context: /train}
channels:
  /loc-{trainID}:
    bindings:
      kafka:
        topic: train-locations
    parameters:
      trainID:
        schema: {type: string}
    subscribe: {}
`),
    );
    expect(problems).toEqual([
      expect.objectContaining({
        path: "$.channels['/loc-{trainID}'].parameters.trainID",
        message: expect.stringMatching(/needs a source in the Kafka record/),
      }),
    ]);
  });

  it('rejects an unknown backend, an unsupported content type and an unnamed Kafka topic', async () => {
    const { problems } = await problemsOf(
      minimal(`x-streamgate: {context: /b}
channels:
  /a:
    x-streamgate-backend: carrier-pigeon
    subscribe: {}
  /b:
    subscribe:
      message:
        contentType: application/octet-stream
  /c:
    x-streamgate-backend: kafka
    subscribe: {}
`),
    );
    const messages = problems.map((p) => `${p.path} ${p.message}`);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/x-streamgate-backend.*unknown backend type "carrier-pigeon"/),
        expect.stringMatching(/\/b.*unsupported message contentType \(application\/octet-stream\)/),
        expect.stringMatching(/names its topic/),
      ]),
    );
  });

  it('accepts an http API with only a sandbox endpoint (it serves SANDBOX keys only), refuses one with none', async () => {
    const http = (servers: string) =>
      minimal(`x-streamgate: {context: /sbx, backend: http}
${servers}channels:
  /a:
    publish:
      message:
        contentType: text/plain
`);
    const sandboxOnly = await problemsOf(
      http('servers:\n  sandbox:\n    url: http://sandbox.test/base\n    protocol: http\n'),
    );
    expect(sandboxOnly.problems).toEqual([]);
    expect(sandboxOnly.api?.endpoints).toEqual({ sandbox: 'http://sandbox.test/base' });
    const none = await problemsOf(http(''));
    expect(none.problems.map((p) => p.message)).toContain(
      'an http backend needs servers.production or servers.sandbox with the backend URL',
    );
  });

  it('takes a Kafka channel’s batching window in whole seconds from 0 to 300', async () => {
    const channel = (window: string) =>
      minimal(`x-streamgate: {context: /w}
channels:
  /feed:
    bindings:
      kafka:
        topic: feed
    x-streamgate-backend: {type: kafka, coalesce: true, batchingWindowSeconds: ${window}}
    subscribe: {}
`);
    const good = await problemsOf(channel('2'));
    expect(good.problems).toEqual([]);
    expect(good.api?.channels[0]?.backend).toMatchObject({ type: 'kafka', batchingWindowSeconds: 2 });
    for (const bad of ['1.5', '301', '-1', '"soon"']) {
      const { problems } = await problemsOf(channel(bad));
      expect(problems).toEqual([
        expect.objectContaining({
          path: "$.channels['/feed']['x-streamgate-backend'].batchingWindowSeconds",
          message: 'must be a whole number of seconds from 0 to 300',
        }),
      ]);
    }
  });

  it('fails a whole folder with every problem, including duplicates across files', async () => {
    const dir = path.resolve(import.meta.dirname, '../fixtures/definitions');
    const error = await loadCatalog(dir, { displayRoot: dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DefinitionError);
    const text = (error as DefinitionError).message;
    expect(text).toMatch(/dup-b\.yaml .*\/dups 1\.0\.0 is already defined by dup-a\.yaml/);
    expect(text).toMatch(/bad-version\.yaml:4 \$\.info\.version: version "1 0"/);
  });
});

describe('Kafka parameter sources', () => {
  it('read AsyncAPI locations and the streamgate extension', () => {
    expect(kafkaParameterSource('$message.header#/trainId', undefined)).toEqual({
      from: 'header',
      name: 'trainId',
    });
    expect(kafkaParameterSource('$message.payload#/train/id', undefined)).toEqual({
      from: 'value',
      pointer: '/train/id',
    });
    expect(kafkaParameterSource(undefined, 'key')).toEqual({ from: 'key' });
    expect(kafkaParameterSource(undefined, 'header:x-train')).toEqual({ from: 'header', name: 'x-train' });
    expect(kafkaParameterSource(undefined, 'value:/id')).toEqual({ from: 'value', pointer: '/id' });
    expect(kafkaParameterSource(undefined, 'nonsense')).toMatch(/must be key/);
  });
});
