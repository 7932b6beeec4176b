import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { OutgoingRecord } from '../core/kafka-publish.ts';
import { invokeForResult } from './lambda-invoke.ts';

export interface ProducedRecord {
  topic: string;
  partition: number;
  offset: string;
}

/**
 * Produces records through the producer function, which runs next to the Kafka cluster (in its
 * VPC, with MSK IAM auth on AWS) so the WebSocket functions need neither.
 */
export class KafkaProducer {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functionName: string,
  ) {}

  async produce(records: OutgoingRecord[]): Promise<ProducedRecord[]> {
    const { produced } = await invokeForResult<{ produced: ProducedRecord[] }>(
      this.lambda,
      this.functionName,
      { records },
      'producing to Kafka',
    );
    return produced;
  }
}
