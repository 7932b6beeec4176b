import { describe, expect, it } from 'vitest';
import { type ChannelBackend, handlerModules, kafkaTopics } from '../../lambdas/core/catalog.ts';
import { api, channel } from '../helpers/catalog.ts';

const kafka = (topic: string): ChannelBackend => ({ type: 'kafka', topic, parameters: {}, coalesce: false });

const catalog = {
  apis: [
    api({
      name: 'Feeds',
      context: '/feeds',
      channels: [
        channel('/in', { backend: kafka('orders'), sub: false }),
        channel('/out', { backend: kafka('prices'), pub: false }),
        channel('/both', { backend: kafka('chat') }),
        channel('/echo', { backend: { type: 'handler', handler: 'examples/echo' } }),
      ],
    }),
    api({
      name: 'More',
      context: '/more',
      channels: [
        channel('/again', { backend: kafka('chat'), pub: false }),
        channel('/bot', { backend: { type: 'handler', handler: 'examples/bot' } }),
        channel('/plain'),
        channel('/echo', { backend: { type: 'handler', handler: 'examples/echo' } }),
      ],
    }),
  ],
};

describe('catalog enumerations', () => {
  it('list each Kafka topic once, sorted, narrowed to the channels clients subscribe to or publish on', () => {
    expect(kafkaTopics(catalog)).toEqual(['chat', 'orders', 'prices']);
    expect(kafkaTopics(catalog, 'sub')).toEqual(['chat', 'prices']);
    expect(kafkaTopics(catalog, 'pub')).toEqual(['chat', 'orders']);
    expect(kafkaTopics({ apis: [] })).toEqual([]);
  });

  it('list each channel handler module once, sorted', () => {
    expect(handlerModules(catalog)).toEqual(['examples/bot', 'examples/echo']);
    expect(handlerModules({ apis: [api({ name: 'A', context: '/a' })] })).toEqual([]);
  });
});
