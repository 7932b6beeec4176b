/**
 * A deployed stack as a scenario target (the AWS parity run, scripts/test-aws.ts): the edge from the
 * stack outputs, tokens of an application the run creates through the management API (signed with
 * the caller's AWS credentials), and a producer on the stack's MSK cluster with IAM authentication.
 */
import { GetBootstrapBrokersCommand, KafkaClient } from '@aws-sdk/client-kafka';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { ManagementClient } from '../../cli/management-client.ts';
import { mskIamToken } from '../../lambdas/adapters/msk-iam-token.ts';
import type { ApiDef } from '../../lambdas/core/catalog.ts';
import { brokerAccess } from '../../lambdas/core/kafka-brokers.ts';
import { type KafkaSink, NotReachable, type ScenarioTarget } from './target.ts';

/** What the run reads of the stack outputs (`cdk deploy --outputs-file`). */
export interface StackOutputs {
  /** `wss://<distribution>.cloudfront.net`: WSO2-style paths. */
  edgeUrl: string;
  /** The HTTP API: token endpoint (`/oauth2/token`) and management API (`/admin/…`). */
  httpApiUrl: string;
  /** The MSK cluster the fan-out reads; absent when the stack was deployed without Kafka. */
  kafkaClusterArn?: string;
}

/**
 * The outputs of `stackName` in a CDK outputs file (`{ "<stack>": { "EdgeUrl": …, … } }`).
 * @throws Error naming what is missing
 */
export function parseStackOutputs(text: string, stackName: string): StackOutputs {
  const all = JSON.parse(text) as Record<string, Record<string, string> | undefined>;
  const outputs = all[stackName];
  if (!outputs)
    throw new Error(
      `the outputs file has no stack ${stackName} (it has ${Object.keys(all).join(', ') || 'none'})`,
    );
  const need = (key: string) => {
    const value = outputs[key];
    if (!value) throw new Error(`stack ${stackName} has no output ${key}`);
    return value.replace(/\/$/, '');
  };
  const edgeUrl = need('EdgeUrl');
  if (!/^wss:\/\//.test(edgeUrl)) throw new Error(`EdgeUrl is not a wss:// URL: ${edgeUrl}`);
  return {
    edgeUrl,
    httpApiUrl: need('HttpApiUrl'),
    ...(outputs.KafkaClusterArn ? { kafkaClusterArn: outputs.KafkaClusterArn } : {}),
  };
}

/** The plan a run subscribes with: AsyncUnlimited where the API offers it, else its first (as the local DefaultApplication). */
export const planFor = (api: Pick<ApiDef, 'plans'>) =>
  api.plans.includes('AsyncUnlimited') ? 'AsyncUnlimited' : (api.plans[0] as string);

type Keys = { clientId: string; clientSecret: string };

/**
 * Creates the run's application `appName` in every tenant of `apis` and subscribes it to each API,
 * through the management API. Returns the PRODUCTION keys by tenant, and the subscriptions the stack
 * refused (an API the deploy left out, e.g. a Kafka API with Kafka off), each as `<api>: <reason>`:
 * the scenarios of those APIs then fail on their own, the others still run.
 */
export async function provisionApplications(
  management: ManagementClient,
  apis: readonly ApiDef[],
  appName: string,
): Promise<{ keys: Map<string, Keys>; refused: string[] }> {
  const keys = new Map<string, Keys>();
  const refused: string[] = [];
  for (const tenant of new Set(apis.map((api) => api.tenant))) {
    const created = await management.admin<{ keys: { PRODUCTION: Keys } }>(
      'POST',
      `/tenants/${tenant}/applications`,
      {
        name: appName,
      },
    );
    keys.set(tenant, created.keys.PRODUCTION);
    for (const api of apis.filter((a) => a.tenant === tenant)) {
      await management
        .admin('POST', `/tenants/${tenant}/applications/${encodeURIComponent(appName)}/subscriptions`, {
          name: api.name,
          version: api.version,
          plan: planFor(api),
        })
        .catch((error: Error) => refused.push(`${api.tenant}/${api.name}/${api.version}: ${error.message}`));
    }
  }
  return { keys, refused };
}

/** The region of an ARN (`arn:aws:kafka:<region>:…`). */
const regionOfArn = (arn: string) => arn.split(':')[3] ?? '';

/** How long the runner gives the brokers to answer before calling them not reachable (ms). */
const BROKER_CONNECT_MS = 10_000;

/**
 * A producer on the stack's MSK cluster: brokers from GetBootstrapBrokers, IAM authentication
 * (SASL OAUTHBEARER with AWS's signer) as the stack's own producer function does.
 * @throws NotReachable when the stack has no cluster or its brokers do not answer from here
 */
async function mskProducer(clusterArn: string | undefined): Promise<Producer> {
  if (!clusterArn) throw new NotReachable('the stack has no Kafka cluster (deployed with Kafka off)');
  const region = regionOfArn(clusterArn);
  const kafkaApi = new KafkaClient({ region });
  const found = await kafkaApi.send(new GetBootstrapBrokersCommand({ ClusterArn: clusterArn }));
  const { brokers, security } = brokerAccess(found, clusterArn);
  const producer = new Kafka({
    clientId: 'streamgate-parity',
    brokers,
    connectionTimeout: BROKER_CONNECT_MS,
    retry: { retries: 1 },
    logLevel: logLevel.NOTHING,
    ...(security === 'plaintext' ? {} : { ssl: true }),
    ...(security === 'iam'
      ? {
          sasl: {
            mechanism: 'oauthbearer' as const,
            oauthBearerProvider: () => mskIamToken(region, kafkaApi.config.credentials),
          },
        }
      : {}),
  }).producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
  } catch (error) {
    throw new NotReachable(
      `the MSK brokers (${brokers[0]}…) did not answer from here (${(error as Error).message}); MSK Serverless accepts clients only inside its VPC or a client VPC: run from there`,
    );
  }
  return producer;
}

/**
 * The deployed stack as a target. `patience` scales the scenarios' waits (CloudFront, API Gateway and
 * the event source mappings add latency); `close()` disconnects the producer.
 */
export function awsTarget(
  outputs: StackOutputs,
  management: ManagementClient,
  keys: ReadonlyMap<string, Keys>,
  patience = 6,
): ScenarioTarget & { close(): Promise<void> } {
  let producer: Promise<Producer> | undefined;
  return {
    name: 'aws',
    edgeUrl: outputs.edgeUrl,
    patience,
    async token(tenant, scope) {
      const tenantKeys = keys.get(tenant);
      if (!tenantKeys) throw new Error(`the run has no application in tenant ${tenant}`);
      return (await management.token(tenantKeys.clientId, tenantKeys.clientSecret, scope)).access_token;
    },
    async kafka(): Promise<KafkaSink> {
      producer ??= mskProducer(outputs.kafkaClusterArn);
      const connected = await producer;
      return {
        async send(topic, messages) {
          await connected.send({ topic, acks: -1, messages });
        },
      };
    },
    async close() {
      await (await producer?.catch(() => undefined))?.disconnect();
    },
  };
}
