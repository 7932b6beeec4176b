import { App, type CfnElement, Names, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { logicalIdOutsideAreas, StackArea } from '../../lib/constructs/stack-area.ts';

class AreaStack extends Stack {
  protected override allocateLogicalId(element: CfnElement): string {
    return logicalIdOutsideAreas(element, (view) => super.allocateLogicalId(view));
  }
}

const idsOf = (stack: Stack) => Object.keys(Template.fromStack(stack).toJSON().Resources);

describe('StackArea', () => {
  it('groups resources in the tree but not in their logical ids', () => {
    const flat = new AreaStack(new App(), 'S');
    new Queue(flat, 'FailureQueue');
    const grouped = new AreaStack(new App(), 'S');
    const area = new StackArea(grouped, 'Kafka');
    const queue = new Queue(area, 'FailureQueue');
    expect(idsOf(grouped)).toEqual(idsOf(flat));
    expect(queue.node.path).toBe('S/Kafka/FailureQueue');
  });

  it('is only skipped where the stack asks for it, and only for areas (other constructs still name)', () => {
    const plain = new Stack(new App(), 'S');
    new Queue(new StackArea(plain, 'Kafka'), 'FailureQueue');
    const grouped = new AreaStack(new App(), 'S');
    new Queue(new Construct(grouped, 'Kafka'), 'FailureQueue');
    expect(idsOf(plain)[0]).toMatch(/^KafkaFailureQueue/);
    expect(idsOf(grouped)[0]).toMatch(/^KafkaFailureQueue/);
  });

  it('leaves path-derived names (Names.uniqueId) to the path: such resources stay at the stack root', () => {
    const stack = new AreaStack(new App(), 'S');
    const area = new StackArea(stack, 'Edge');
    expect(Names.uniqueId(new Construct(area, 'X'))).not.toBe(Names.uniqueId(new Construct(stack, 'X')));
  });
});
