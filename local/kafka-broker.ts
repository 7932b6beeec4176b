/**
 * Apache Kafka 4.x, one broker in KRaft mode (broker and controller in one process), from Maven
 * Central jars on Java 17. Storage is formatted once; the broker can be restarted on the same data
 * (the integration tests do, mid-stream).
 */

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { engineClasspath } from './java.ts';
import type { LogSink } from './log.ts';
import { type ManagedProcess, startProcess, waitForPort } from './process.ts';

const run = promisify(execFile);

export interface KafkaBroker {
  brokers: string[];
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
}): Promise<KafkaBroker> {
  const classpath = await engineClasspath('kafka', options.stateDir, options.log);
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
      `listeners=PLAINTEXT://${options.host}:${options.port},CONTROLLER://${options.host}:${options.controllerPort}`,
      `advertised.listeners=PLAINTEXT://${options.host}:${options.port}`,
      'inter.broker.listener.name=PLAINTEXT',
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
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
  ];
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
    proc = startProcess('kafka', 'java', [...jvm, '-cp', classpath, 'kafka.Kafka', config], {
      log: options.log,
    });
    await waitForPort(options.port, options.host, 90_000, proc.exited);
  };
  await launch();
  const brokers = [`${options.host}:${options.port}`];
  return {
    brokers,
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
