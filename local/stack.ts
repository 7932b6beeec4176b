/**
 * The whole of streamgate on one machine: synthesizes the CDK app, then runs what the template
 * describes on real engines — DynamoDB Local, the WebSocket and HTTP API gateways, the Lambda
 * handlers from the bundled assets, Secrets Manager for the signing keys. `npm start` and the
 * integration tests both start it through `startLocalStack`.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { generate } from 'selfsigned';
import { buildApp } from '../bin/streamgate.ts';
import type { Catalog } from '../lambdas/core/catalog.ts';
import { LocalAwsServices } from './aws-services.ts';
import { LOCAL_CREDENTIALS, localEnvironmentFile } from './credentials.ts';
import { createCustomResources } from './custom-resources.ts';
import { type DevApplication, ensureDefaultApplication } from './dev-app.ts';
import { createTables, type DynamoDbLocal, startDynamoDbLocal } from './dynamodb-local.ts';
import { DynamoDbProxy } from './dynamodb-proxy.ts';
import { WebSocketGateway } from './gateway/server.ts';
import { HttpApiServer, json } from './http-api.ts';
import { LocalIam } from './iam/local-iam.ts';
import { checkJavaTools } from './java.ts';
import { type KafkaBroker, startKafkaBroker } from './kafka-broker.ts';
import { KafkaIamServer } from './kafka-iam.ts';
import { EventSourcePoller } from './kafka-poller.ts';
import { LambdaRuntime } from './lambda/runtime.ts';
import type { LogSink } from './log.ts';
import { assertPortFree } from './process.ts';
import { type CfnTemplate, LOCAL_REGION, LocalTemplate } from './template.ts';

export interface LocalPorts {
  ws: number;
  wss: number;
  http: number;
  aws: number;
  dynamodb: number;
  kafka: number;
  kafkaController: number;
  /** The broker's IAM listener (SASL_SSL, OAUTHBEARER); default: `kafka` + 6 (9098, MSK's IAM port). */
  kafkaIam?: number;
}

export const DEFAULT_PORTS: Required<LocalPorts> = {
  ws: 9099,
  wss: 8099,
  http: 9090,
  aws: 9091,
  dynamodb: 8000,
  kafka: 9092,
  kafkaController: 9093,
  kafkaIam: 9098,
};

export interface LocalStackOptions {
  root: string;
  stateDir: string;
  host: string;
  ports: LocalPorts;
  log: LogSink;
  /**
   * Keep data across restarts: the tables (applications, subscriptions), the Kafka topics' records
   * and the signing keys (`secrets.json`). false starts from nothing every time (the self-signed TLS
   * certificate, which is no data, is kept either way).
   */
  persist: boolean;
  /** Execution environments per function. */
  lambdaConcurrency: number;
  idleTimeoutMs?: number;
  /** Added to every `@connections` call (see GatewayOptions). */
  connectionsLatencyMs?: number;
  /** Serve unsigned `@connections` calls (loopback hosts only; see GatewayOptions). */
  allowUnsignedConnections?: boolean;
  maxConnectionMs?: number;
  /**
   * Use this Kafka (bootstrap servers) instead of starting a broker. Its consumer groups then get
   * `.local-{host name}` after the template's names, so that the local stack never takes partitions
   * from a deployed stack (or another developer's) reading the same cluster with the same groups.
   */
  kafkaBrokers?: string[];
  /** More API definition folders, besides apis/ (the integration tests add their fixtures). */
  extraApiDirs?: string[];
  /** Environment every function gets on top of the template's (as changing a function's configuration on AWS). */
  functionEnvironment?: Record<string, string>;
  /**
   * Changes the synthesized template (in place) before the stack reads it: tests remove a
   * statement from a role and see the call fail as on AWS. Not for `npm start`.
   */
  templateTransform?: (template: CfnTemplate) => void;
}

export interface LocalStack {
  urls: {
    ws: string;
    wss: string;
    http: string;
    callback: string;
    dynamodb: string;
    /** DynamoDB as the functions reach it: SigV4 and each call checked against the caller's role (local/dynamodb-proxy.ts). */
    dynamodbProxy: string;
    aws: string;
    kafka: string;
  };
  stageName: string;
  /** Queue URLs by logical id without CDK's hash suffix (FailureQueue: the fan-out's failure destination). */
  queues: Record<string, string>;
  template: LocalTemplate;
  lambda: LambdaRuntime;
  gateway: WebSocketGateway;
  services: LocalAwsServices;
  dynamodb: DynamoDbLocal;
  /** Each function's identity and the decisions of its role's policies (local/iam). */
  iam: LocalIam;
  /**
   * `brokers`: PLAINTEXT, the administrator's; `iamBrokers`: the IAM listener (what GetBootstrapBrokers
   * answers; empty with an external Kafka); `clusterArn`: the local cluster's;
   * `groupSuffix`: what the local consumer groups add to the template's names ('' on the built-in broker).
   */
  kafka: {
    brokers: string[];
    iamBrokers: string[];
    clusterArn: string;
    broker?: KafkaBroker;
    pollers: EventSourcePoller[];
    groupSuffix: string;
  };
  defaultApp: DevApplication;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The environment a local AWS SDK client or the AWS CLI needs to reach this stack. */
  awsEnvironment: Record<string, string>;
  startedInMs: number;
  stop(): Promise<void>;
}

export { LOCAL_CREDENTIALS };
export const STACK_NAME = 'Streamgate';

/** Synthesize the CDK app into `outdir`; returns the API catalog it was built with. */
export async function synthesize(outdir: string, extraApiDirs: string[] = []): Promise<Catalog> {
  // Kafka on, as MSK Serverless: the local broker stands in for it (whatever streamgate.config.json
  // chooses for AWS, the Kafka sample APIs run locally).
  const { app, stack } = await buildApp(
    new App({
      outdir,
      context: { 'streamgate:extraApiDirs': extraApiDirs.join(','), kafkaCluster: 'serverless' },
    }),
  );
  app.synth();
  return stack.catalog;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const started = Date.now();
  const { log, host, ports } = options;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const stopActions: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const action of stopActions.reverse()) {
      try {
        await action();
      } catch (error) {
        log.warn('stack', `stopping: ${(error as Error).message}`);
      }
    }
  };
  try {
    await mkdir(options.stateDir, { recursive: true });
    await checkJavaTools();
    for (const [what, port] of Object.entries(ports)) {
      if (options.kafkaBrokers && what.startsWith('kafka')) continue;
      await assertPortFree(port, host, what);
    }
    // Only now that no other stack holds the ports: a run without persist works on files of its
    // own and leaves the persisted ones (signing keys, the default application) as they were.
    await restoreSetAside(options.stateDir);
    if (!options.persist) {
      await setAside(options.stateDir);
      stopActions.push(() => restoreSetAside(options.stateDir));
    }

    const assemblyDir = path.join(options.stateDir, 'cdk.out');
    log.info('stack', 'synthesizing the CDK app (validates apis/, bundles the functions)…');
    const t = Date.now();
    const catalog = await synthesize(assemblyDir, options.extraApiDirs);
    log.info('stack', `synthesized in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const urls = {
      ws: `ws://${displayHost(host)}:${ports.ws}`,
      wss: `wss://${displayHost(host)}:${ports.wss}`,
      http: `http://${displayHost(host)}:${ports.http}`,
      callback: '',
      dynamodb: `http://${host}:${ports.dynamodb}`,
      dynamodbProxy: '',
      aws: `http://${host}:${ports.aws}`,
      kafka: (options.kafkaBrokers ?? [`${host}:${ports.kafka}`]).join(','),
    };
    const template = LocalTemplate.load(assemblyDir, STACK_NAME, {
      webSocketBase: `http://${displayHost(host)}:${ports.ws}`,
      httpBase: urls.http,
      awsBase: urls.aws,
      edgeHost: `${displayHost(host)}:${ports.wss}`,
    });
    options.templateTransform?.(template.template);
    const iam = new LocalIam(template, LOCAL_CREDENTIALS);
    for (const warning of iam.warnings) log.warn('iam', warning);
    const webSocketApi = template.webSocketApis()[0];
    if (!webSocketApi) throw new Error('the synthesized template has no WebSocket API');
    urls.callback = `http://${displayHost(host)}:${ports.ws}/${webSocketApi.stageName}`;

    const clusterArn = localClusterArn(template);
    const tls = await localCertificate(options.stateDir);
    // The broker's IAM listener asks this endpoint for each authentication and decision: the
    // functions' roles as the template gives them (local/iam), as MSK asks IAM.
    const kafkaIam = options.kafkaBrokers
      ? undefined
      : new KafkaIamServer({ clusterArn, iam: () => iam, log });
    const kafkaIamUrl = await kafkaIam?.start();
    if (kafkaIam) stopActions.push(() => kafkaIam.stop());
    const kafkaIamPort = ports.kafkaIam ?? ports.kafka + 6;
    if (!options.kafkaBrokers) await assertPortFree(kafkaIamPort, host, 'kafkaIam');
    log.info(
      'stack',
      options.kafkaBrokers ? 'starting DynamoDB Local…' : 'starting DynamoDB Local and Apache Kafka…',
    );
    const kafkaDataDir =
      options.persist || options.kafkaBrokers
        ? path.join(options.stateDir, 'kafka')
        : await mkdtemp(path.join(tmpdir(), 'streamgate-kafka-'));
    // Registered before the broker's stop, so it runs after it.
    if (!options.persist && !options.kafkaBrokers)
      stopActions.push(() => rm(kafkaDataDir, { recursive: true, force: true }));
    const [dynamodb, broker] = await Promise.all([
      startDynamoDbLocal({
        port: ports.dynamodb,
        host,
        stateDir: options.stateDir,
        ...(options.persist ? { dataDir: path.join(options.stateDir, 'dynamodb') } : {}),
        log,
        credentials: LOCAL_CREDENTIALS,
        region: LOCAL_REGION,
      }).then((engine) => {
        stopActions.push(() => engine.stop());
        return engine;
      }),
      options.kafkaBrokers
        ? Promise.resolve(undefined)
        : startKafkaBroker({
            host,
            port: ports.kafka,
            controllerPort: ports.kafkaController,
            dataDir: kafkaDataDir,
            stateDir: options.stateDir,
            log,
            ...(kafkaIamUrl ? { iam: { port: kafkaIamPort, url: kafkaIamUrl, tls } } : {}),
          }).then((engine) => {
            stopActions.push(() => engine.stop());
            return engine;
          }),
    ]);
    const brokers = options.kafkaBrokers ?? broker?.brokers ?? [];
    const iamBrokers = broker?.iamBrokers ?? [];
    // Functions trust the stack's certificate as Lambda's runtime trusts Amazon's CAs (lambda/extra-ca.mjs).
    const caFile = path.join(options.stateDir, 'local-ca.pem');
    await writeFile(caFile, tls.cert);
    const tables = template.tables();
    await createTables(dynamodb.client, tables, (table) => /Connections/.test(table.logicalId));

    const awsEnvironment = {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: urls.dynamodb,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: urls.aws,
      AWS_ENDPOINT_URL_SQS: urls.aws,
      AWS_ENDPOINT_URL_LAMBDA: urls.aws,
      AWS_ENDPOINT_URL_KAFKA: urls.aws,
      // Locally the functions run on Node 20; on AWS they run on Node 22.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    // Functions reach DynamoDB through the IAM-checking proxy, signing with their role's key.
    const dynamodbProxy = new DynamoDbProxy({ host, port: 0, target: urls.dynamodb, iam, log });
    await dynamodbProxy.start();
    urls.dynamodbProxy = dynamodbProxy.url;
    stopActions.push(() => dynamodbProxy.stop());
    const lambda = new LambdaRuntime(template.functions(), {
      baseEnvironment: {
        ...awsEnvironment,
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbProxy.url,
        NODE_EXTRA_CA_CERTS: caFile,
      },
      ...(options.functionEnvironment ? { overrides: options.functionEnvironment } : {}),
      credentialsOf: (fn) => {
        const key = iam.credentialsFor(fn.logicalId);
        return { AWS_ACCESS_KEY_ID: key.accessKeyId, AWS_SECRET_ACCESS_KEY: key.secretAccessKey };
      },
      maxConcurrency: options.lambdaConcurrency,
      log,
    });
    stopActions.push(() => lambda.close());

    // Without persist the signing keys start afresh (the persisted ones are set aside, see above).
    const secretsFile = path.join(options.stateDir, 'secrets.json');
    const services = new LocalAwsServices({
      host,
      port: ports.aws,
      stateFile: secretsFile,
      credentials: LOCAL_CREDENTIALS,
      iam,
      log,
      kafkaBrokers: brokers,
      kafkaIamBrokers: iamBrokers,
      invoke: (name, payload, asynchronous) => {
        const fn = lambda.functionByName(name);
        if (!fn) {
          return Promise.reject(
            Object.assign(new Error(`Function not found: ${name}`), {
              errorType: 'ResourceNotFoundException',
            }),
          );
        }
        return lambda.invoke(fn.logicalId, payload, { asynchronous });
      },
      rotate: async (secret, token) => {
        for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
          await lambda.invoke(secret.functionId, {
            Step: step,
            SecretId: secret.arn,
            ClientRequestToken: token,
          });
        }
      },
    });
    await services.start();
    stopActions.push(() => services.stop());
    services.ensureQueues(template.queues());
    const queues = Object.fromEntries(
      template.queues().map((q) => [q.logicalId.replace(/[A-F0-9]{8}$/, ''), q.url]),
    );
    for (const secret of await services.ensureSecrets(template.secrets())) {
      log.info('stack', `generating the token signing key (${secret.logicalId}, first start only)…`);
      await services.rotate(secret.arn);
    }

    const gateway = new WebSocketGateway({
      api: webSocketApi,
      lambda,
      log,
      host,
      port: ports.ws,
      tls: { port: ports.wss, ...tls },
      credentials: LOCAL_CREDENTIALS,
      iam,
      edgeFunctions: template.viewerRequestFunctions(),
      ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
      ...(options.connectionsLatencyMs ? { connectionsLatencyMs: options.connectionsLatencyMs } : {}),
      ...(options.maxConnectionMs ? { maxConnectionMs: options.maxConnectionMs } : {}),
      ...(options.allowUnsignedConnections ? { allowUnsignedConnections: true } : {}),
    });
    await gateway.start();
    stopActions.push(() => gateway.stop());

    // As CloudFormation creates them: the topics exist only because the stack's custom resource made them.
    await createCustomResources({
      resources: template.customResources(),
      lambda,
      stackName: STACK_NAME,
      log,
      host,
    });

    const groupSuffix = options.kafkaBrokers ? `.local-${hostname()}` : '';
    const pollers = template.eventSourceMappings().map(
      (mapping) =>
        new EventSourcePoller({
          mapping: { ...mapping, consumerGroupId: `${mapping.consumerGroupId}${groupSuffix}` },
          // As the mapping uses the function's execution role on an IAM cluster.
          ...(iamBrokers.length
            ? {
                brokers: iamBrokers,
                iam: {
                  region: LOCAL_REGION,
                  ca: tls.cert,
                  credentials: async () => iam.credentialsFor(mapping.functionId),
                },
              }
            : { brokers }),
          clusterArn: mapping.clusterArn ?? clusterArn,
          lambda,
          log,
          sendToFailureDestination: (arn, body) => services.sendToQueueArn(arn, body),
        }),
    );
    await Promise.all(pollers.map((poller) => poller.start()));
    stopActions.push(async () => {
      await Promise.all(pollers.map((poller) => poller.stop()));
    });

    const httpApi = new HttpApiServer({
      api: template.httpApis()[0],
      lambda,
      log,
      host,
      port: ports.http,
      credentials: LOCAL_CREDENTIALS,
    });
    let healthy = false;
    httpApi.addLocalRoute('GET', '/health', (_req, res) =>
      json(res, healthy ? 200 : 503, {
        status: healthy ? 'ok' : 'starting',
        websocket: urls.ws,
        connections: gateway.connectionCount,
        queues,
      }),
    );
    addLocalControls(httpApi, {
      lambda,
      iam,
      broker,
      pollers,
      log,
      gatewayStats: () => gateway.usage(),
      holdOpenings: (ms, count) => gateway.holdNextOpenings(ms, count),
    });
    await httpApi.start();
    stopActions.push(() => httpApi.stop());

    const registryTable = tables.find((t) => /Registry/.test(t.logicalId));
    if (!registryTable) throw new Error('the synthesized template has no registry table');
    const defaultApp = await ensureDefaultApplication({
      stateDir: options.stateDir,
      endpoint: urls.dynamodb,
      tableName: registryTable.name,
      credentials: LOCAL_CREDENTIALS,
      tokenUrl: `${urls.http}/oauth2/token`,
      apis: catalog.apis,
    });
    healthy = true;
    // For `streamgate local env`: the shell environment of this stack, plus the @connections endpoint.
    const environmentFile = localEnvironmentFile(options.stateDir);
    await writeFile(
      environmentFile,
      JSON.stringify(
        {
          ...awsEnvironment,
          // The IAM-checking endpoint: another key is refused there as on AWS (DynamoDB Local accepts any).
          AWS_ENDPOINT_URL_DYNAMODB: dynamodbProxy.url,
          AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: urls.callback,
        },
        null,
        1,
      ),
      { mode: 0o600 },
    );
    stopActions.push(() => rm(environmentFile, { force: true }));

    return {
      urls,
      stageName: webSocketApi.stageName,
      queues,
      template,
      lambda,
      gateway,
      services,
      dynamodb,
      iam,
      kafka: { brokers, iamBrokers, clusterArn, ...(broker ? { broker } : {}), pollers, groupSuffix },
      defaultApp,
      credentials: LOCAL_CREDENTIALS,
      awsEnvironment,
      startedInMs: Date.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Local-only controls for tests and demos, under /_local/ on the HTTP API port:
 *   POST /_local/faults        {"function":"fanout","count":2,"mode":"before"|"after"}  fail the next invocations
 *   POST /_local/kafka/restart restart the Kafka broker on the same data
 *   POST /_local/iam/remove-action {"function":"producer","action":"kafka-cluster:WriteData"}
 *                              take an action out of a function's role (as editing it in IAM)
 *   POST /_local/iam/restore   every role back to its policies in the template
 *   POST /_local/gateway/hold-openings {"ms":1500,"count":1}  the next handshakes open `ms` after
 *                              their `$connect` answered (`@connections` answers 410 meanwhile)
 *   GET  /_local/status        pollers (topics, counts, last error), functions (invocations, billed ms), their EMF metric sums,
 *                              and the gateway's billable counts (messages, connection-minutes)
 */
function addLocalControls(
  httpApi: HttpApiServer,
  parts: {
    lambda: LambdaRuntime;
    iam: LocalIam;
    broker: KafkaBroker | undefined;
    pollers: EventSourcePoller[];
    log: LogSink;
    gatewayStats: () => unknown;
    holdOpenings: (ms: number, count: number) => void;
  },
): void {
  httpApi.addLocalRoute('POST', '/_local/gateway/hold-openings', (_req, res, body) => {
    try {
      const request = JSON.parse(body.toString() || '{}') as { ms?: unknown; count?: unknown };
      const held = { ms: Number(request.ms), count: Number(request.count ?? 1) };
      parts.holdOpenings(held.ms, held.count);
      return json(res, 200, held);
    } catch (error) {
      return json(res, 400, { message: (error as Error).message });
    }
  });
  httpApi.addLocalRoute('POST', '/_local/faults', (_req, res, body) => {
    const request = JSON.parse(body.toString() || '{}') as {
      function?: string;
      count?: number;
      mode?: string;
    };
    const fn = parts.lambda.findFunction(String(request.function));
    if (!fn) return json(res, 404, { message: `no function ${request.function}` });
    const mode = request.mode === 'after' ? 'after' : 'before';
    parts.lambda.injectFault(fn.logicalId, { count: Number(request.count ?? 1), mode });
    parts.log.warn(
      'stack',
      `injecting ${request.count ?? 1} ${mode}-handler failure(s) into ${fn.logicalId}`,
    );
    return json(res, 200, { function: fn.logicalId, count: Number(request.count ?? 1), mode });
  });
  httpApi.addLocalRoute('POST', '/_local/iam/remove-action', (_req, res, body) => {
    const request = JSON.parse(body.toString() || '{}') as { function?: string; action?: string };
    const fn = parts.lambda.findFunction(String(request.function));
    if (!fn) return json(res, 404, { message: `no function ${request.function}` });
    try {
      const statements = parts.iam.removeAction(fn.logicalId, String(request.action));
      parts.log.warn(
        'stack',
        `removed ${request.action} from the role of ${fn.logicalId} (${statements} statement(s))`,
      );
      return json(res, 200, { function: fn.logicalId, action: request.action, statements });
    } catch (error) {
      return json(res, 409, { message: (error as Error).message });
    }
  });
  httpApi.addLocalRoute('POST', '/_local/iam/restore', (_req, res) => {
    parts.iam.restoreRoles();
    parts.log.info('stack', 'every role back to its policies in the template');
    return json(res, 200, { restored: true });
  });
  httpApi.addLocalRoute('POST', '/_local/kafka/restart', async (_req, res) => {
    if (!parts.broker) return json(res, 409, { message: 'the stack uses an external Kafka (--kafka)' });
    parts.log.warn('stack', 'restarting the Kafka broker…');
    await parts.broker.restart();
    parts.log.info('stack', 'Kafka broker back');
    return json(res, 200, { restarted: true });
  });
  httpApi.addLocalRoute('GET', '/_local/status', (_req, res) =>
    json(res, 200, {
      pollers: parts.pollers.map((poller) => ({ topics: poller.topics, ...poller.stats })),
      functions: Object.fromEntries(parts.lambda.stats),
      metrics: Object.fromEntries(parts.log.metricSums),
      gateway: parts.gatewayStats(),
    }),
  );
}

/** Until the stack evaluates the template's policies, the Kafka IAM listener allows the local key everything. */

/**
 * The local MSK cluster's ARN, as the template resolves it for the functions (KAFKA_CLUSTER_ARN),
 * else one of the same form: `arn:aws:kafka:{region}:{account}:cluster/{name}/{uuid}`.
 */
function localClusterArn(template: LocalTemplate): string {
  const fromMappings = template.eventSourceMappings().find((m) => m.clusterArn)?.clusterArn;
  const fromFunctions = template
    .functions()
    .map((fn) => fn.environment.KAFKA_CLUSTER_ARN)
    .find((arn) => arn?.startsWith('arn:aws:kafka:'));
  // No Kafka in the template: a cluster ARN of MSK's shape all the same (name and UUID).
  return (
    fromMappings ??
    fromFunctions ??
    `arn:aws:kafka:${LOCAL_REGION}:000000000000:cluster/streamgate-streams/00000000-0000-0000-0000-000000000000-s1`
  );
}

/** Files a run without persist must not touch: it writes its own, and the stop puts these back. */
const PERSISTED_FILES = ['secrets.json', 'default-app.json'];

/**
 * Moves the persisted files to `<name>.persisted`, or marks them `<name>.absent` (a run without
 * persist starts without them).
 */
async function setAside(stateDir: string): Promise<void> {
  for (const name of PERSISTED_FILES) {
    const file = path.join(stateDir, name);
    if (existsSync(file)) await rename(file, `${file}.persisted`);
    else await writeFile(`${file}.absent`, '');
  }
}

/** Puts set-aside files back, dropping what a run without persist wrote (also after a crash of one). */
async function restoreSetAside(stateDir: string): Promise<void> {
  for (const name of PERSISTED_FILES) {
    const file = path.join(stateDir, name);
    if (existsSync(`${file}.persisted`)) await rename(`${file}.persisted`, file);
    else if (existsSync(`${file}.absent`)) {
      await rm(file, { force: true });
      await rm(`${file}.absent`, { force: true });
    }
  }
}

function displayHost(host: string): string {
  return host === '127.0.0.1' || host === '0.0.0.0' ? 'localhost' : host;
}

/** A self-signed certificate for wss://localhost, generated on first start and kept (never committed). */
async function localCertificate(stateDir: string): Promise<{ key: string; cert: string }> {
  const file = path.join(stateDir, 'tls.json');
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as { key: string; cert: string };
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    days: 825,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  } as never);
  const tls = { key: pems.private, cert: pems.cert };
  await writeFile(file, JSON.stringify(tls), { mode: 0o600 });
  return tls;
}
