/**
 * Issue 12, a newcomer's `ws://localhost:9099//chats/1.0.0/rooms/room1`: the local gateway hands the
 * edge function the path as sent (CloudFront gives its function the request's own URI), and the
 * target the function makes resolves as on AWS — empty segments ignored, `.`/`..`/encoded slashes
 * refused with 400 naming the segment.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTargetResolver } from '../../lambdas/core/target.ts';
import { EdgeFunction } from '../../local/gateway/edge.ts';
import { splitRequestTarget } from '../../local/gateway/server.ts';
import { api, channel } from '../helpers/catalog.ts';

const edge = new EdgeFunction(
  readFileSync(path.resolve(import.meta.dirname, '../../lib/edge/viewer-request.js'), 'utf8'),
);
const resolver = createTargetResolver({
  apis: [api({ name: 'Chats', context: '/chats', channels: [channel('/rooms/{roomID}')] })],
});

/** What the Connect function resolves for a request target that reached the edge. */
function resolvedAt(requestTarget: string): string {
  const { path: uri, query } = splitRequestTarget(requestTarget);
  const rewritten = edge.viewerRequest({
    uri,
    querystring: query,
    headers: {},
    method: 'GET',
    clientIp: '::1',
  });
  // API Gateway decodes the query string once, as URLSearchParams does.
  const target = new URLSearchParams(rewritten.querystring).get('target') ?? '';
  return resolver.resolve(target).topicKey;
}

describe('request targets as sent', () => {
  it.each([
    ['//chats/1.0.0/rooms/room1?x=1', '//chats/1.0.0/rooms/room1', 'x=1'],
    ['/chats/./1.0.0/rooms/room1', '/chats/./1.0.0/rooms/room1', ''],
    ['/chats/%2e%2e/x?a=b?c', '/chats/%2e%2e/x', 'a=b?c'],
    ['/prod', '/prod', ''],
  ])('%s is path %s and query %s, untouched', (target, expectedPath, expectedQuery) => {
    expect(splitRequestTarget(target)).toEqual({ path: expectedPath, query: expectedQuery });
  });

  it.each([
    '/chats/1.0.0/rooms/room1',
    '//chats/1.0.0/rooms/room1',
    '/chats//1.0.0///rooms/room1',
    '/chats/1.0.0/rooms/room1/',
  ])('%s reaches the topic /rooms/room1, as through CloudFront', (requestTarget) => {
    expect(resolvedAt(requestTarget)).toBe('carbon.super/chats/1.0.0/rooms/room1');
  });

  it.each([
    ['/chats/./1.0.0/rooms/room1', 'path segment "." is not allowed'],
    ['/chats/%2e/1.0.0/rooms/room1', 'path segment "%2e" is not allowed'],
    ['/chats/x/../1.0.0/rooms/room1', 'path segment ".." is not allowed'],
    ['/chats/1.0.0/rooms%2Froom1', 'path segment "rooms%2Froom1" is not allowed'],
  ])('%s is refused with 400: %s', (requestTarget, message) => {
    expect(() => resolvedAt(requestTarget)).toThrow(expect.objectContaining({ status: 400, message }));
  });
});
