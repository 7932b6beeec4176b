import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createCustomResources } from '../../local/custom-resources.ts';
import { LogSink } from '../../local/log.ts';
import type { LocalCustomResource } from '../../local/template.ts';

const resource: LocalCustomResource = {
  logicalId: 'KafkaTopics',
  type: 'Custom::KafkaTopics',
  functionId: 'TopicAdmin',
  properties: { ServiceToken: 'arn:aws:lambda:us-east-1:000000000000:function:admin', Partitions: '3' },
};
const log = new LogSink({ out: new PassThrough() });

/** A function that answers its ResponseURL as told (or not at all). */
function lambda(answer: (event: Record<string, string>) => Record<string, unknown> | undefined) {
  const calls: { functionId: string; event: Record<string, unknown>; asynchronous: boolean }[] = [];
  return {
    calls,
    async invoke(functionId: string, event: unknown, options: { asynchronous: boolean }) {
      const e = event as Record<string, string>;
      calls.push({ functionId, event: e, asynchronous: options.asynchronous });
      const body = answer(e);
      if (body) await fetch(e.ResponseURL as string, { method: 'PUT', body: JSON.stringify(body) });
      return null;
    },
  };
}

/** A response to `event`, as a custom resource's function PUTs it. */
const answer = (Status: string, Reason: string, event: Record<string, string>) => ({
  Status,
  Reason,
  PhysicalResourceId: 'p',
  RequestId: event.RequestId,
});

describe('the local custom resources (as CloudFormation runs them)', () => {
  it('invokes the ServiceToken function asynchronously with a Create request and takes its SUCCESS', async () => {
    const fn = lambda((e) => answer('SUCCESS', 'created a', e));
    const responses = await createCustomResources({ resources: [resource], lambda: fn, stackName: 'S', log });
    expect(fn.calls).toEqual([
      {
        functionId: 'TopicAdmin',
        asynchronous: true,
        event: expect.objectContaining({
          RequestType: 'Create',
          ResourceType: 'Custom::KafkaTopics',
          LogicalResourceId: 'KafkaTopics',
          StackId: 'arn:aws:cloudformation:us-east-1:000000000000:stack/S/local',
          ResponseURL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}$/),
          ResourceProperties: resource.properties,
        }),
      },
    ]);
    expect(responses.get('KafkaTopics')).toMatchObject({ Status: 'SUCCESS', Reason: 'created a' });
  });

  it('fails the start with the Reason of a FAILED response', async () => {
    const fn = lambda((e) => answer('FAILED', 'no way', e));
    await expect(
      createCustomResources({ resources: [resource], lambda: fn, stackName: 'S', log }),
    ).rejects.toThrow('KafkaTopics (Custom::KafkaTopics) failed: no way');
  });

  it('fails at once when the function returns without answering (CloudFormation would wait an hour)', async () => {
    const fn = lambda(() => undefined);
    await expect(
      createCustomResources({ resources: [resource], lambda: fn, stackName: 'S', log }),
    ).rejects.toThrow(/returned without sending a response to its ResponseURL/);
  });
});
