import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PoisonRecord } from '../core/fanout-plan.ts';

/** SQS takes 256 KB per message; the value is cut to leave room for the rest. */
const MAX_VALUE_BYTES = 180 * 1024;

/**
 * The failure destination for records that cannot be delivered (poison): one SQS message per record
 * with where it came from (topic, partition, offset), why, and the record itself (base64).
 */
export class FailureDestination {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly source: string,
  ) {}

  async send(poison: PoisonRecord[]): Promise<void> {
    for (let i = 0; i < poison.length; i += 10) {
      const entries = poison.slice(i, i + 10).map(({ record, reasons }, n) => {
        const truncated = record.value.length > MAX_VALUE_BYTES;
        return {
          Id: String(n),
          MessageBody: JSON.stringify({
            source: this.source,
            kind: 'poison-record',
            topic: record.topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            reasons,
            key: record.key?.toString('base64') ?? null,
            headers: record.headers,
            value: record.value.subarray(0, MAX_VALUE_BYTES).toString('base64'),
            valueTruncated: truncated,
          }),
        };
      });
      const result = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      if (result.Failed?.length) {
        throw new Error(
          `the failure destination refused ${result.Failed.length} poison records: ${result.Failed[0]?.Message}`,
        );
      }
    }
  }
}
