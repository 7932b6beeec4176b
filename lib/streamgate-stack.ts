import { Annotations, type CfnElement, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { HttpApi, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { type Catalog, kafkaTopics } from '../lambdas/core/catalog.ts';
import { type KafkaCluster, kafkaClusterOf, type StreamgateConfig } from './config.ts';
import { ChannelHandlerFunctions, HttpBackendSigning } from './constructs/channel-handlers.ts';
import { batchingWindows, KafkaIngest } from './constructs/kafka-ingest.ts';
import { retentionOf } from './constructs/logging.ts';
import { ManagementApi } from './constructs/management-api.ts';
import { acknowledge } from './constructs/nag.ts';
import { logicalIdOutsideAreas } from './constructs/stack-area.ts';
import { StreamgateFunction } from './constructs/streamgate-function.ts';
import { StreamgateTables } from './constructs/tables.ts';
import { TokenIssuer } from './constructs/token-issuer.ts';
import { WebSocketEdge } from './constructs/websocket-edge.ts';
import { WebSocketGateway } from './constructs/websocket-gateway.ts';

export interface StreamgateStackProps extends StackProps {
  /** The compiled API catalog (lib/definitions), inlined into every function. */
  readonly catalog: Catalog;
  /** streamgate.config.json, checked and with its defaults filled (lib/config.ts). */
  readonly config: StreamgateConfig;
}

/**
 * streamgate on AWS, assembled from one construct per area: the tables, the built-in token issuer
 * (an HTTP API that the management API shares), the WebSocket gateway, the channel handler
 * functions, Kafka ingest (fan-out and producer) when some channel is Kafka-bound, the CloudFront
 * edge, and the management API. Logical ids do not depend on the areas (see StackArea): a deployed
 * stack keeps its resources.
 */
export class StreamgateStack extends Stack {
  readonly webSocketApi: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly httpApi: HttpApi;
  readonly catalog: Catalog;

  constructor(scope: Construct, id: string, props: StreamgateStackProps) {
    super(scope, id, props);
    const { config } = props;
    const kafkaCluster = kafkaClusterOf(config.kafka, {
      // `-c kafkaCluster=…`, or the setting's own path (`-c kafka.cluster=…`).
      kafkaCluster: this.node.tryGetContext('kafkaCluster') ?? this.node.tryGetContext('kafka.cluster'),
      kafkaClusterArn: this.node.tryGetContext('kafkaClusterArn'),
    });
    const catalog = kafkaCluster === 'none' ? this.withoutKafkaApis(props.catalog) : props.catalog;
    this.catalog = catalog;
    const logRetention = retentionOf(config.logRetentionDays);

    const tables = new StreamgateTables(this, 'Tables');
    const issuer = new TokenIssuer(this, 'TokenIssuer', {
      catalog,
      registry: tables.registry,
      token: config.token,
      logRetention,
      throttle: config.httpThrottle,
    });
    this.httpApi = issuer.httpApi;
    const gateway = new WebSocketGateway(this, 'WebSocketGateway', {
      catalog,
      tables,
      issuers: [issuer.trustedAs(config.token.audience), ...config.issuers],
      builtinIssuer: issuer.issuerUrl,
      logRetention,
      stageName: config.stageName,
      throttle: config.throttle,
      connectionRate: config.connectionRate,
      topicShards: config.topicShards,
      deliveryConcurrency: config.deliveryConcurrency,
      registryCacheSeconds: config.registryCacheSeconds,
      jwksCooldownSeconds: config.jwksCooldownSeconds,
      apiGatewayAccountRole: config.apiGatewayAccountRole,
    });
    issuer.grantPublicKeys(gateway.connectFunction);
    this.webSocketApi = gateway.webSocketApi;
    this.stage = gateway.stage;
    new ChannelHandlerFunctions(this, 'ChannelHandlers', { catalog, gateway, logRetention });
    new HttpBackendSigning(this, 'HttpBackendSigning', { catalog, gateway });
    if (kafkaCluster !== 'none' && kafkaTopics(catalog).length)
      this.addKafka(catalog, config, kafkaCluster, tables, gateway, logRetention);
    const edge = config.edge ? new WebSocketEdge(this, 'WebSocketEdge', { stage: gateway.stage }) : undefined;
    new ManagementApi(this, 'ManagementApi', {
      catalog,
      httpApi: issuer.httpApi,
      tables,
      gateway,
      tokenUrl: issuer.tokenUrl,
      logRetention,
      ...(edge ? { edgeUrl: edge.url } : {}),
    });
  }

  /**
   * With `kafka.cluster` "none", the catalog without the APIs that have a Kafka-bound channel: each
   * is named in a synth-time warning (and the `ApisLeftOut` output) with the setting that brings it
   * in. A warning, not an error: the default deploy carries the sample APIs, and refusing it would
   * make every first `cdk deploy` choose a cluster; a half API (its Kafka channels cut) would be a
   * contract nobody wrote.
   */
  private withoutKafkaApis(catalog: Catalog): Catalog {
    const needsKafka = (api: Catalog['apis'][number]) => api.channels.some((c) => c.backend.type === 'kafka');
    const leftOut = catalog.apis.filter(needsKafka);
    if (!leftOut.length) return catalog;
    for (const api of leftOut) {
      const channels = api.channels.filter((c) => c.backend.type === 'kafka').map((c) => c.name);
      Annotations.of(this).addWarningV2(
        `streamgate:kafka-off:${api.id}`,
        `API ${api.id} is left out of this deploy: its channel(s) ${channels.join(', ')} read or write Kafka, and kafka.cluster is "none". Set "kafka": { "cluster": "serverless" } (or an MSK cluster ARN) in streamgate.config.json, or -c kafkaCluster=serverless, to deploy it.`,
      );
    }
    new CfnOutput(this, 'ApisLeftOut', {
      value: leftOut.map((api) => api.id).join(' '),
      description: 'APIs not deployed: they need Kafka (kafka.cluster in streamgate.config.json)',
    });
    const ids = new Set(leftOut.map((api) => api.id));
    return {
      apis: catalog.apis.filter((api) => !ids.has(api.id)),
      ...(catalog.documents
        ? { documents: Object.fromEntries(Object.entries(catalog.documents).filter(([id]) => !ids.has(id))) }
        : {}),
    };
  }

  /** Logical ids as if every StackArea's resources were the stack's own children. */
  protected override allocateLogicalId(element: CfnElement): string {
    return logicalIdOutsideAreas(element, (view) => super.allocateLogicalId(view));
  }

  /**
   * Kafka → WebSocket: the fan-out function, a mapping per topic clients subscribe to (KafkaIngest)
   * and the failure queue; WebSocket → Kafka: the producer, when clients publish to some topic.
   * These stay at the stack's root: the mappings' ids derive from the fan-out function's path, and
   * Lambda refuses a second mapping of a topic while the first exists, so an update must keep them.
   */
  private addKafka(
    catalog: Catalog,
    config: StreamgateConfig,
    cluster: Exclude<KafkaCluster, 'none'>,
    tables: StreamgateTables,
    gateway: WebSocketGateway,
    logRetention: RetentionDays,
  ): void {
    const failureQueue = new Queue(this, 'FailureQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      failureQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the failure destination (dead letters) of the Kafka fan-out.',
    );
    const fanout = new StreamgateFunction(this, 'Fanout', {
      handlerDir: 'fanout',
      catalog,
      logRetention,
      memorySize: config.kafka.fanoutMemoryMb,
      timeout: Duration.seconds(config.kafka.fanoutTimeoutSeconds),
      environment: {
        failureQueueUrl: failureQueue.queueUrl,
        subscriberCacheMs: String(config.kafka.subscriberCacheMs),
      },
    });
    gateway.bindGatewayData(fanout);
    tables.streamState.bind(fanout, 'readwrite');
    failureQueue.grantSendMessages(fanout);
    gateway.grantPosting(fanout);
    const ingest = new KafkaIngest(this, 'Kafka', {
      fanout,
      topics: kafkaTopics(catalog, 'sub'),
      allTopics: kafkaTopics(catalog),
      batchingWindows: batchingWindows(catalog),
      config: config.kafka,
      cluster,
      catalog,
      logRetention,
      failureQueue,
    });
    new CfnOutput(this, 'KafkaClusterArn', {
      value: ingest.clusterArn,
      description: 'MSK cluster the fan-out reads',
    });
    new CfnOutput(this, 'FailureQueueUrl', {
      value: failureQueue.queueUrl,
      description: 'Poison records and failed batches',
    });

    const publishTopics = kafkaTopics(catalog, 'pub');
    if (!publishTopics.length) return;
    const producer = new StreamgateFunction(this, 'Producer', {
      handlerDir: 'producer',
      catalog,
      logRetention,
      ...ingest.producerPlacement(),
      environment: { kafkaClusterArn: ingest.clusterArn },
    });
    ingest.grantProduce(producer, publishTopics);
    const message = gateway.messageFunction;
    producer.grantInvoke(message);
    message.setEnvironment({ producerFunction: producer.functionName });
    acknowledge(
      message.role as Construct,
      `AwsSolutions-IAM5[Resource::<${this.getLogicalId(producer.node.defaultChild as CfnElement)}.Arn>:*]`,
      'Invoke of the producer function, any version or alias of it.',
    );
  }
}
