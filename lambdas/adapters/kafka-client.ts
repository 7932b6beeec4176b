import { GetBootstrapBrokersCommand, type KafkaClient } from '@aws-sdk/client-kafka';
import type { KafkaConfig } from 'kafkajs';
import { brokerAccess } from '../core/kafka-brokers.ts';
import { mskIamToken } from './msk-iam-token.ts';

/**
 * A kafkajs client configuration for an MSK cluster: the brokers from the Kafka API
 * (GetBootstrapBrokers), and the authentication the cluster offers (`core/kafka-brokers.ts`): SASL
 * OAUTHBEARER with an MSK IAM token signed with `kafkaApi`'s credentials (the function role's), else
 * TLS, else plaintext (a local broker without IAM). `base` adds the client's own settings (clientId,
 * timeouts, logging). Throws when the cluster offers no usable brokers.
 */
export async function mskClientConfig(
  kafkaApi: KafkaClient,
  clusterArn: string,
  region: string,
  base: Omit<KafkaConfig, 'brokers' | 'ssl' | 'sasl'>,
): Promise<KafkaConfig> {
  const found = await kafkaApi.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const { brokers, security } = brokerAccess(found, clusterArn);
  if (security === 'plaintext') return { ...base, brokers };
  if (security === 'tls') return { ...base, brokers, ssl: true };
  return {
    ...base,
    brokers,
    ssl: true,
    sasl: {
      mechanism: 'oauthbearer',
      oauthBearerProvider: () => mskIamToken(region, kafkaApi.config.credentials),
    },
  };
}
