/**
 * Creates the catalog's Kafka topics as a CloudFormation custom resource (see `handler.ts`). It runs
 * in the cluster's VPC; the brokers and their authentication come from the Kafka API like the
 * producer's (`adapters/kafka-client.ts`): SASL/IAM as the function's role on MSK, whatever the
 * local stack offers locally.
 */
import { KafkaClient } from '@aws-sdk/client-kafka';
import { sendCfnResponse } from '../adapters/cfn-response.ts';
import { KafkaTopicAdmin } from '../adapters/kafka-admin.ts';
import { mskClientConfig } from '../adapters/kafka-client.ts';
import { ENV, RUNTIME_ENV } from '../shared/env.ts';
import { kafkaClientOptions } from '../shared/kafka-options.ts';
import { observed } from '../shared/middleware.ts';
import { createHandler, type TopicAdminDependencies } from './handler.ts';

const kafkaApi = new KafkaClient({});

/** Kafka and the response URL from the environment (KAFKA_CLUSTER_ARN, AWS_REGION). */
export function defaultDependencies(): TopicAdminDependencies {
  const clusterArn = ENV.kafkaClusterArn.read();
  const region = RUNTIME_ENV.region.read();
  const admin = new KafkaTopicAdmin(() =>
    mskClientConfig(
      kafkaApi,
      clusterArn,
      region,
      kafkaClientOptions('streamgate-topic-admin', {
        connectionTimeout: 10_000,
        requestTimeout: 30_000,
        retries: 5,
      }),
    ),
  );
  return {
    existing: () => admin.existing(),
    create: (topics, partitions) => admin.create(topics, partitions),
    respond: (url, response) => sendCfnResponse(url, response),
  };
}

export const handler = observed(createHandler(defaultDependencies()));
