/**
 * Apache Kafka 4.x, one broker in KRaft mode (broker and controller in one process), from Maven
 * Central jars on Java 17. Storage is formatted once; the broker can be restarted on the same data
 * (the integration tests do, mid-stream).
 */

import { execFile } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { compiledClasses, engineClasspath } from './java.ts';
import type { LogSink } from './log.ts';
import { type ManagedProcess, startProcess, waitForPort } from './process.ts';

const run = promisify(execFile);

export interface KafkaBroker {
  /** The PLAINTEXT listener: the administrator's (stack setup, the user's own tools). */
  brokers: string[];
  /** The IAM listener (SASL_SSL with OAUTHBEARER, as MSK's port 9098), when started with `iam`. */
  iamBrokers: string[];
  classpath: string;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const LOG4J2 = `status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.startup.name = kafka.server.KafkaRaftServer
logger.startup.level = INFO
`;

export async function startKafkaBroker(options: {
  host: string;
  port: number;
  controllerPort: number;
  dataDir: string;
  stateDir: string;
  log: LogSink;
  /**
   * A second listener that authenticates and authorizes as MSK's IAM listener does: TLS with
   * `tls` (PEM key and certificate), SASL OAUTHBEARER with MSK IAM tokens, each operation decided
   * by the local stack's IAM at `url` (a `KafkaIamServer`, local/kafka-iam.ts).
   */
  iam?: { port: number; url: string; tls: { key: string; cert: string } };
}): Promise<KafkaBroker> {
  const classpath = await engineClasspath('kafka', options.stateDir, options.log);
  const iam = options.iam;
  const iamClasses = iam ? await compiledClasses(AUTHORIZER_SOURCES, classpath, options.log) : undefined;
  await mkdir(options.dataDir, { recursive: true });
  const config = path.join(options.dataDir, 'server.properties');
  const logConfig = path.join(options.dataDir, 'log4j2.properties');
  const logDir = path.join(options.dataDir, 'log');
  await writeFile(
    config,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=${options.host}:${options.controllerPort}`,
      `listeners=PLAINTEXT://${options.host}:${options.port},CONTROLLER://${options.host}:${options.controllerPort}${iam ? `,IAM://${options.host}:${iam.port}` : ''}`,
      `advertised.listeners=PLAINTEXT://${options.host}:${options.port}${iam ? `,IAM://${options.host}:${iam.port}` : ''}`,
      'inter.broker.listener.name=PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${iam ? ',IAM:SASL_SSL' : ''}`,
      ...(iam ? iamListenerConfig(iam.tls) : []),
      `log.dirs=${logDir}`,
      'num.partitions=3',
      // As MSK Serverless, whose broker settings cannot turn it on: topics exist because something created them.
      'auto.create.topics.enable=false',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=10',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'log.retention.hours=24',
      '',
    ].join('\n'),
  );
  await writeFile(logConfig, LOG4J2);

  const idFile = path.join(options.dataDir, 'cluster-id');
  let clusterId: string;
  if (existsSync(idFile)) {
    clusterId = (await readFile(idFile, 'utf8')).trim();
  } else {
    clusterId = newClusterId();
    await writeFile(idFile, clusterId);
  }
  const jvm = [
    '-Xms256m',
    '-Xmx768m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${logConfig}`,
    ...(iam ? [`-Dstreamgate.kafkaIamUrl=${iam.url}`] : []),
  ];
  const brokerClasspath = iamClasses ? `${classpath}${path.delimiter}${iamClasses}` : classpath;
  await run(
    'java',
    [
      ...jvm,
      '-cp',
      classpath,
      'kafka.tools.StorageTool',
      'format',
      '--standalone',
      '--ignore-formatted',
      // `--cluster-id=…`: an id may start with '-', which the tool would take for an option.
      `--cluster-id=${clusterId}`,
      '-c',
      config,
    ],
    {
      maxBuffer: 4 * 1024 * 1024,
    },
  );

  let proc: ManagedProcess;
  const launch = async () => {
    proc = startProcess('kafka', 'java', [...jvm, '-cp', brokerClasspath, 'kafka.Kafka', config], {
      log: options.log,
    });
    await waitForPort(options.port, options.host, 90_000, proc.exited);
    if (iam) await waitForPort(iam.port, options.host, 30_000, proc.exited);
  };
  await launch();
  const brokers = [`${options.host}:${options.port}`];
  return {
    brokers,
    iamBrokers: iam ? [`${options.host}:${iam.port}`] : [],
    classpath,
    async restart() {
      await proc.stop();
      await launch();
    },
    async stop() {
      await proc.stop();
    },
  };
}

/** The Java classes of the IAM listener: SASL token validation and the Kafka `Authorizer`. */
const AUTHORIZER_SOURCES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kafka-authorizer');

/** A properties value: `\n` and `\` escaped, as java.util.Properties reads them. */
function propertyValue(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');
}

/**
 * The IAM listener's settings: TLS from PEM (Kafka reads PKCS#8 keys only), OAUTHBEARER with the
 * MSK IAM token validator, and the authorizer that maps operations to MSK's IAM actions (it lets
 * the PLAINTEXT and CONTROLLER listeners' ANONYMOUS principal do everything).
 */
function iamListenerConfig(tls: { key: string; cert: string }): string[] {
  const key = createPrivateKey(tls.key).export({ type: 'pkcs8', format: 'pem' }).toString();
  return [
    'listener.name.iam.ssl.keystore.type=PEM',
    `listener.name.iam.ssl.keystore.key=${propertyValue(key)}`,
    `listener.name.iam.ssl.keystore.certificate.chain=${propertyValue(tls.cert)}`,
    'listener.name.iam.sasl.enabled.mechanisms=OAUTHBEARER',
    'listener.name.iam.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
    'listener.name.iam.oauthbearer.sasl.server.callback.handler.class=local.streamgate.kafka.MskIamValidatorCallbackHandler',
    'authorizer.class.name=local.streamgate.kafka.MskIamAuthorizer',
  ];
}

/** Create the topics the definitions name (3 partitions), if they do not exist yet. */
export async function createTopics(brokers: string[], topics: string[], partitions = 3): Promise<void> {
  if (topics.length === 0) return;
  const admin = new Kafka({
    clientId: 'streamgate-local-admin',
    brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}

/** A Kafka cluster id: 16 random bytes, base64url; like Kafka's own, never starting with '-'. */
export function newClusterId(): string {
  for (;;) {
    const id = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
