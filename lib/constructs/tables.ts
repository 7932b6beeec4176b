import { RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { StackArea } from './stack-area.ts';
import { StreamgateTable } from './streamgate-table.ts';

/**
 * streamgate's four DynamoDB tables. Everything but the registry is derived, short-lived state and
 * goes with the stack; the registry (applications, subscriptions, keys) is retained.
 */
export class StreamgateTables extends StackArea {
  /** Connections and subscriptions; connections live at most two hours. */
  readonly connections: StreamgateTable;
  /** Stream processing state: fan-out checkpoints (and, with transforms, aggregates). */
  readonly streamState: StreamgateTable;
  /** Business plan counters: fixed windows per subscription, and concurrent connections. */
  readonly throttle: StreamgateTable;
  /** Applications, subscriptions, keys and plans. */
  readonly registry: StreamgateTable;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.connections = new StreamgateTable(this, 'ConnectionsTable', { envKey: 'connectionsTable' });
    this.streamState = new StreamgateTable(this, 'StreamStateTable', { envKey: 'streamStateTable' });
    this.throttle = new StreamgateTable(this, 'ThrottleTable', { envKey: 'throttleTable' });
    this.registry = new StreamgateTable(this, 'RegistryTable', {
      envKey: 'registryTable',
      expiring: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
