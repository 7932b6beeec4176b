import { type KafkaConfig, logLevel } from 'kafkajs';
import { logger } from './observability.ts';

/**
 * The kafkajs settings of a streamgate function's client besides brokers and security (which
 * `adapters/kafka-client.ts` takes from the cluster): its id, its timeouts (ms), retries, and the
 * client's errors in the function's structured log.
 */
export function kafkaClientOptions(
  clientId: string,
  limits: { connectionTimeout: number; requestTimeout: number; retries: number },
): Omit<KafkaConfig, 'brokers' | 'ssl' | 'sasl'> {
  return {
    clientId,
    connectionTimeout: limits.connectionTimeout,
    requestTimeout: limits.requestTimeout,
    retry: { retries: limits.retries },
    logLevel: logLevel.ERROR,
    logCreator:
      () =>
      ({ log }: { log: { message: string } }) =>
        logger.error('kafka client', { detail: log.message }),
  };
}
