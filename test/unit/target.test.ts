import { describe, expect, it } from 'vitest';
import { compileTemplate, normalizePath } from '../../lambdas/core/channel-template.ts';
import { GatewayError } from '../../lambdas/core/errors.ts';
import { createTargetResolver } from '../../lambdas/core/target.ts';
import { api, channel } from '../helpers/catalog.ts';

const catalog = {
  apis: [
    api({
      name: 'Chats',
      context: '/chats',
      channels: [channel('/notifications'), channel('/rooms/{roomID}')],
    }),
    api({
      name: 'Chats',
      context: '/chats',
      version: '2.0.0',
      defaultVersion: true,
      channels: [channel('/rooms/{roomID}'), channel('/rooms/lobby')],
    }),
    api({
      name: 'TrainRealLocationAPI',
      context: '/train/location',
      tenant: 'quantis.com',
      channels: [channel('/loc-train-qnt-{trainID}', { pub: false })],
    }),
    api({ name: 'Train', context: '/train', channels: [channel('/status')] }),
    api({ name: 'SweetProdApp', context: '/SweetProdApp', channels: [channel('/', { pub: false })] }),
    api({ name: 'EchoWebSocket', context: '/echowebsocket', channels: [channel('/*')] }),
  ],
};
const resolver = createTargetResolver(catalog);

function refusal(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('channel templates', () => {
  it('match whole segments and segments with a literal prefix', () => {
    expect(compileTemplate('/rooms/{roomID}').match('/rooms/room1')).toEqual({ roomID: 'room1' });
    expect(compileTemplate('/rooms/{roomID}').match('/rooms/room1/extra')).toBeUndefined();
    expect(compileTemplate('/loc-train-qnt-{trainID}').match('/loc-train-qnt-456')).toEqual({
      trainID: '456',
    });
    expect(compileTemplate('/loc-train-qnt-{trainID}').match('/loc-bus-456')).toBeUndefined();
  });

  it('let a trailing * take the rest of the path, or nothing', () => {
    const wildcard = compileTemplate('/*');
    expect(wildcard.match('/')).toEqual({});
    expect(wildcard.match('/a/b/c')).toEqual({});
  });

  it('fill values back in', () => {
    expect(compileTemplate('/rooms/{roomID}').fill({ roomID: 'r9' })).toBe('/rooms/r9');
    expect(() => compileTemplate('/rooms/{roomID}').fill({})).toThrow(/roomID/);
  });

  it('rank literal characters above parameters', () => {
    expect(compileTemplate('/rooms/lobby').specificity).toBeGreaterThan(
      compileTemplate('/rooms/{id}').specificity,
    );
  });

  it('normalize slashes', () => {
    expect(normalizePath('//a///b/')).toBe('/a/b');
    expect(normalizePath('')).toBe('/');
  });
});

describe('target resolution', () => {
  it('finds API, version, channel and parameters from a WSO2-style path', () => {
    const target = resolver.resolve('/chats/1.0.0/rooms/room1');
    expect(target.api.version).toBe('1.0.0');
    expect(target.channel.name).toBe('/rooms/{roomID}');
    expect(target.params).toEqual({ roomID: 'room1' });
    expect(target.topic).toBe('/rooms/room1');
    expect(target.topicKey).toBe('carbon.super/chats/1.0.0/rooms/room1');
    expect(target.viaDefaultVersion).toBe(false);
  });

  it('reads the tenant from /t/{tenant}/ and ignores a trailing slash (seed 002 uses one)', () => {
    const target = resolver.resolve('/t/quantis.com/train/location/1.0.0/loc-train-qnt-456/');
    expect(target.api.tenant).toBe('quantis.com');
    expect(target.params).toEqual({ trainID: '456' });
    expect(target.topicKey).toBe('quantis.com/train/location/1.0.0/loc-train-qnt-456');
  });

  it('reaches the default version when the path names no version', () => {
    const target = resolver.resolve('/chats/rooms/room1');
    expect(target.api.version).toBe('2.0.0');
    expect(target.viaDefaultVersion).toBe(true);
  });

  it('prefers a path that names its version over the default version', () => {
    expect(resolver.resolve('/chats/1.0.0/notifications').api.version).toBe('1.0.0');
  });

  it('prefers the longest context', () => {
    expect(resolver.resolve('/train/1.0.0/status').api.name).toBe('Train');
    expect(() => resolver.resolve('/train/location/1.0.0/status')).toThrow(GatewayError);
  });

  it('prefers a literal channel over a template', () => {
    expect(resolver.resolve('/chats/2.0.0/rooms/lobby').channel.name).toBe('/rooms/lobby');
    expect(resolver.resolve('/chats/2.0.0/rooms/other').channel.name).toBe('/rooms/{roomID}');
  });

  it('matches contexts without regard to case (seed 000 invokes /sweetProdApp)', () => {
    const target = resolver.resolve('/sweetProdApp/1.0.0');
    expect(target.api.name).toBe('SweetProdApp');
    expect(target.topic).toBe('/');
  });

  it('takes the whole remainder for a /* channel', () => {
    expect(resolver.resolve('/echowebsocket/1.0.0').topic).toBe('/');
    expect(resolver.resolve('/echowebsocket/1.0.0/a/b').topic).toBe('/a/b');
  });

  it('decodes percent-encoded segments', () => {
    expect(resolver.resolve('/chats/1.0.0/rooms/room%201').params).toEqual({ roomID: 'room 1' });
  });

  it('answers 404 for an unknown API, tenant or topic', () => {
    expect(refusal(() => resolver.resolve('/nochats/1.0.0/rooms/x')).status).toBe(404);
    expect(refusal(() => resolver.resolve('/t/other.com/train/location/1.0.0/loc-train-qnt-1')).status).toBe(
      404,
    );
    const unknownTopic = refusal(() => resolver.resolve('/chats/1.0.0/nope'));
    expect(unknownTopic.status).toBe(404);
    expect(unknownTopic.message).toMatch(/Chats 1.0.0 has no topic \/nope/);
    expect(refusal(() => resolver.resolve('')).status).toBe(404);
  });

  it('refuses path tricks with 400', () => {
    expect(refusal(() => resolver.resolve('/chats/1.0.0/rooms/..')).status).toBe(400);
    expect(refusal(() => resolver.resolve('/chats/1.0.0/rooms/a%2Fb')).status).toBe(400);
    expect(refusal(() => resolver.resolve('/chats/1.0.0/rooms/%E0%A4%A')).status).toBe(400);
    expect(refusal(() => resolver.resolve(`/chats/1.0.0/rooms/${'x'.repeat(3000)}`)).status).toBe(400);
  });

  it('resolves a topic within an API for control messages', () => {
    const chats = resolver.resolveApi('/chats/1.0.0');
    expect(resolver.resolveTopic(chats, '/rooms/room2').topicKey).toBe(
      'carbon.super/chats/1.0.0/rooms/room2',
    );
    expect(refusal(() => resolver.resolveTopic(chats, '/elsewhere')).status).toBe(404);
  });

  it('resolves an API path alone, for tokens', () => {
    expect(resolver.resolveApi('/t/quantis.com/train/location/1.0.0').name).toBe('TrainRealLocationAPI');
    expect(resolver.resolveApi('/chats').version).toBe('2.0.0');
  });
});
