/**
 * Produces the records clients publish on Kafka-bound channels. It runs next to the cluster: on
 * AWS in the MSK VPC with IAM auth, locally on the local broker. The brokers come from the Kafka
 * API (GetBootstrapBrokers), and the authentication from what the cluster offers: SASL/IAM when it
 * has IAM brokers, TLS or plaintext otherwise. The producer stays connected across invocations.
 */
import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { Kafka, type KafkaConfig, logLevel, type Producer } from 'kafkajs';
import type { ProducedRecord } from '../adapters/kafka-producer.ts';
import { mskIamToken } from '../adapters/msk-iam-token.ts';
import type { OutgoingRecord } from '../core/kafka-publish.ts';
import { ENV, RUNTIME_ENV } from '../shared/env.ts';
import { flushMetrics, logger, MetricUnit, metrics } from '../shared/observability.ts';

const clusterArn = ENV.kafkaClusterArn.read();
const region = RUNTIME_ENV.region.read();
const kafkaApi = new KafkaClient({});
let connected: Promise<Producer> | undefined;

async function clientConfig(): Promise<KafkaConfig> {
  const brokers = await kafkaApi.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const base = {
    clientId: 'streamgate-producer',
    connectionTimeout: 5_000,
    requestTimeout: 10_000,
    retry: { retries: 3 },
    logLevel: logLevel.ERROR,
    logCreator:
      () =>
      ({ log }: { log: { message: string } }) =>
        logger.error('kafka client', { detail: log.message }),
  };
  if (brokers.BootstrapBrokerStringSaslIam) {
    return {
      ...base,
      brokers: brokers.BootstrapBrokerStringSaslIam.split(','),
      ssl: true,
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: () => mskIamToken(region, kafkaApi.config.credentials),
      },
    };
  }
  if (brokers.BootstrapBrokerStringTls) {
    return { ...base, brokers: brokers.BootstrapBrokerStringTls.split(','), ssl: true };
  }
  if (brokers.BootstrapBrokerString) return { ...base, brokers: brokers.BootstrapBrokerString.split(',') };
  throw new Error(`cluster ${clusterArn} has no bootstrap brokers this function can use`);
}

function producer(): Promise<Producer> {
  connected ??= (async () => {
    const instance = new Kafka(await clientConfig()).producer({ allowAutoTopicCreation: false });
    await instance.connect();
    return instance;
  })().catch((error: unknown) => {
    connected = undefined;
    throw error;
  });
  return connected;
}

export const handler = async (event: {
  records: OutgoingRecord[];
}): Promise<{ produced: ProducedRecord[] }> => {
  try {
    const kafka = await producer();
    const produced: ProducedRecord[] = [];
    for (const record of event.records) {
      const [result] = await kafka.send({
        topic: record.topic,
        acks: -1,
        messages: [{ key: record.key, value: record.value, headers: record.headers }],
      });
      produced.push({
        topic: record.topic,
        partition: result?.partition ?? -1,
        offset: result?.baseOffset ?? '',
      });
    }
    metrics.addMetric('recordsProduced', MetricUnit.Count, produced.length);
    logger.debug('produced', { records: produced.length });
    return { produced };
  } catch (error) {
    // A broken connection is rebuilt on the next invocation.
    const stale = connected;
    connected = undefined;
    void stale?.then((p) => p.disconnect()).catch(() => undefined);
    metrics.addMetric('produceFailures', MetricUnit.Count, 1);
    logger.error('producing failed', error as Error);
    throw new Error(`the Kafka cluster did not take the record (${(error as Error).message})`);
  } finally {
    flushMetrics();
  }
};
