import { describe, expect, it } from 'vitest';
import { backendUrl, endpointFor } from '../../lambdas/core/backend-url.ts';
import type { ApiDef } from '../../lambdas/core/catalog.ts';

const api = (endpoints: ApiDef['endpoints']) => ({ name: 'Chats', version: '1.0.0', endpoints }) as ApiDef;

describe('http backend URLs (WSO2 URL mappings)', () => {
  it.each([
    [
      'http://chat:8080',
      '/rooms?room={uri.var.roomID}',
      { roomID: 'room1' },
      'http://chat:8080/rooms?room=room1',
    ],
    ['http://chat:8080/', '/notifications', {}, 'http://chat:8080/notifications'],
    [
      'https://chat/base',
      '/rooms/{uri.var.roomID}/say',
      { roomID: 'a b/c' },
      'https://chat/base/rooms/a%20b%2Fc/say',
    ],
    [
      'https://chat/base?key=1',
      '/rooms?room={uri.var.roomID}',
      { roomID: 'r&1' },
      'https://chat/base/rooms?key=1&room=r%261',
    ],
    ['http://chat:8080/ws', undefined, { roomID: 'x' }, 'http://chat:8080/ws'],
  ])('%s + %s', (endpoint, uriMapping, params, expected) => {
    expect(backendUrl(endpoint, uriMapping ? { uriMapping } : {}, params)).toBe(expected);
  });

  it('picks the endpoint of the key type, and says which is missing', () => {
    const both = api({ production: 'http://p', sandbox: 'http://s' });
    expect(endpointFor(both, 'PRODUCTION')).toBe('http://p');
    expect(endpointFor(both, 'SANDBOX')).toBe('http://s');
    expect(endpointFor(both, undefined)).toBe('http://p');
    expect(() => endpointFor(api({ production: 'http://p' }), 'SANDBOX')).toThrow(
      /API Chats 1.0.0 has no sandbox endpoint/,
    );
  });
});
