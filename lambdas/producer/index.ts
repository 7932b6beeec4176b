/**
 * Produces the records clients publish on Kafka-bound channels. It runs next to the cluster: on
 * AWS in the MSK VPC with IAM auth, locally on the local broker. The brokers come from the Kafka
 * API (GetBootstrapBrokers), and the authentication from what the cluster offers (see
 * `core/kafka-brokers.ts`). The producer stays connected across invocations.
 */
import { KafkaClient } from '@aws-sdk/client-kafka';
import { Kafka } from 'kafkajs';
import { mskClientConfig } from '../adapters/kafka-client.ts';
import { ENV, RUNTIME_ENV } from '../shared/env.ts';
import { kafkaClientOptions } from '../shared/kafka-options.ts';
import { observed } from '../shared/middleware.ts';
import { createHandler, type ProducerDependencies } from './handler.ts';

/** The producer's connection from the environment (KAFKA_CLUSTER_ARN, AWS_REGION); throws when unset. */
export function defaultDependencies(): ProducerDependencies {
  const clusterArn = ENV.kafkaClusterArn.read();
  const region = RUNTIME_ENV.region.read();
  const kafkaApi = new KafkaClient({});

  const clientConfig = () =>
    mskClientConfig(
      kafkaApi,
      clusterArn,
      region,
      kafkaClientOptions('streamgate-producer', {
        connectionTimeout: 5_000,
        requestTimeout: 10_000,
        retries: 3,
      }),
    );

  return {
    async connect() {
      const producer = new Kafka(await clientConfig()).producer({ allowAutoTopicCreation: false });
      await producer.connect();
      return producer;
    },
  };
}

export const handler = observed(createHandler(defaultDependencies()));
