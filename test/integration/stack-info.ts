import type { DevApplication } from '../../local/dev-app.ts';

/** What the global setup tells the integration tests about the running local stack. */
export interface StackInfo {
  root: string;
  stateDir: string;
  assemblyDir: string;
  urls: {
    ws: string;
    wss: string;
    http: string;
    callback: string;
    dynamodb: string;
    dynamodbProxy: string;
    aws: string;
    kafka: string;
  };
  ports: {
    ws: number;
    wss: number;
    http: number;
    aws: number;
    dynamodb: number;
    kafka: number;
    kafkaController: number;
  };
  kafkaBrokers: string[];
  /** Classpath of the local Kafka (for its console producer). */
  kafkaClasspath: string;
  /** Queue URLs by logical id without CDK's hash suffix: FailureQueue. */
  queues: Record<string, string>;
  stageName: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  awsEnvironment: Record<string, string>;
  defaultApp: DevApplication;
  /** Table names by logical id without CDK's hash suffix: ConnectionsTable, RegistryTable. */
  tables: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}
