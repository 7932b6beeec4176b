import { createHash } from 'node:crypto';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PoisonRecord } from '../core/fanout-plan.ts';

/** SendMessageBatch: at most 10 entries, and 256 KB for all their bodies together. */
export const MAX_BATCH_ENTRIES = 10;
export const MAX_BATCH_BYTES = 256 * 1024;
/** One failure record stays under this (a quarter of the batch kept for the others, and slack). */
export const MAX_ENTRY_BYTES = 200 * 1024;
/** A value summarised (too large to carry whole) keeps this much of its beginning. */
const PREVIEW_BYTES = 1024;
const MAX_KEY_BYTES = 1024;
const MAX_HEADERS_BYTES = 16 * 1024;
const MAX_REASONS = 20;
const MAX_REASON_CHARS = 1000;

/**
 * The failure record of a poison record (the SQS message body, JSON): where it came from (topic,
 * partition, offset, timestamp), why (`reasons`, per channel), and the record — key, headers and
 * value base64 — whole when the body stays within {@link MAX_ENTRY_BYTES}, else summarised: the
 * value's size, SHA-256 and first kilobyte (`valueTruncated: true`), long keys and headers cut the
 * same way. Pure; never throws.
 */
export function failureRecord(source: string, { record, reasons }: PoisonRecord): string {
  const keyBytes = record.key ?? Buffer.alloc(0);
  const headersJson = JSON.stringify(record.headers);
  const headersFit = Buffer.byteLength(headersJson) <= MAX_HEADERS_BYTES;
  const base = {
    source,
    kind: 'poison-record',
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    reasons: reasons
      .slice(0, MAX_REASONS)
      .map((r) => ({ ...r, reason: r.reason.slice(0, MAX_REASON_CHARS) })),
    ...(reasons.length > MAX_REASONS ? { reasonsOmitted: reasons.length - MAX_REASONS } : {}),
    key: record.key ? keyBytes.subarray(0, MAX_KEY_BYTES).toString('base64') : null,
    ...(keyBytes.length > MAX_KEY_BYTES ? { keyTruncated: true, keyBytes: keyBytes.length } : {}),
    headers: headersFit
      ? record.headers
      : Object.fromEntries(Object.keys(record.headers).map((n) => [n, ''])),
    ...(headersFit ? {} : { headersTruncated: true }),
  };
  const whole = JSON.stringify({ ...base, value: record.value.toString('base64'), valueTruncated: false });
  if (Buffer.byteLength(whole) <= MAX_ENTRY_BYTES) return whole;
  const summary = JSON.stringify({
    ...base,
    value: record.value.subarray(0, PREVIEW_BYTES).toString('base64'),
    valueTruncated: true,
    valueBytes: record.value.length,
    valueSha256: createHash('sha256').update(record.value).digest('hex'),
  });
  if (Buffer.byteLength(summary) <= MAX_ENTRY_BYTES) return summary;
  // Only a pathological header set gets here: names alone were too many. Keep the position and why.
  const { headers: _, ...bare } = base;
  return JSON.stringify({
    ...bare,
    headersTruncated: true,
    valueTruncated: true,
    valueBytes: record.value.length,
  });
}

/**
 * Bodies grouped into SendMessageBatch calls: at most {@link MAX_BATCH_ENTRIES} per call and
 * {@link MAX_BATCH_BYTES} of bodies together, in order. Each body must be at most
 * {@link MAX_ENTRY_BYTES} (see {@link failureRecord}), so every call is within SQS's limits.
 */
export function batchesBySize(bodies: string[]): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let bytes = 0;
  for (const body of bodies) {
    const size = Buffer.byteLength(body);
    if (current.length && (current.length >= MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(body);
    bytes += size;
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * The failure destination for records that cannot be delivered (poison): one SQS message per record
 * (see {@link failureRecord}), sent in batches sized by count and bytes, so one large record never
 * makes a call fail. Throws when SQS refuses a message: the batch is then retried.
 */
export class FailureDestination {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly source: string,
  ) {}

  async send(poison: PoisonRecord[]): Promise<void> {
    const bodies = poison.map((p) => failureRecord(this.source, p));
    for (const batch of batchesBySize(bodies)) {
      const result = await this.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((MessageBody, n) => ({ Id: String(n), MessageBody })),
        }),
      );
      if (result.Failed?.length) {
        throw new Error(
          `the failure destination refused ${result.Failed.length} poison records: ${result.Failed[0]?.Message}`,
        );
      }
    }
  }
}
