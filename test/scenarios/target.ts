/**
 * Where a seed scenario runs: the local stack (the integration tests) or a deployed stack (the AWS
 * parity runner, scripts/test-aws.ts). A scenario gets everything environment-specific from its
 * target — the edge URL, tokens, a Kafka producer, how long to wait — and nothing else, so the same
 * steps and assertions run on both.
 */
import { isDeepStrictEqual } from 'node:util';
import { type Client, connect } from './client.ts';

/** A Kafka producer as the scenarios use it. */
export interface KafkaSink {
  /** Produces `messages` to `topic` in order, acknowledged by all in-sync replicas (acks -1). */
  send(topic: string, messages: { key?: string | null; value: string }[]): Promise<void>;
}

/**
 * The target's Kafka brokers cannot be reached from where the scenarios run (on AWS: MSK Serverless
 * answers only inside its VPC). The runner reports the scenario as "not reachable" with `message`.
 */
export class NotReachable extends Error {
  override readonly name = 'NotReachable';
}

export interface ScenarioTarget {
  /** `local` or `aws`, for messages. */
  readonly name: string;
  /** The edge's base URL for WSO2-style paths, no trailing slash (`ws://127.0.0.1:19099`, `wss://d1.cloudfront.net`). */
  readonly edgeUrl: string;
  /** An access token of an application of `tenant` subscribed to its seed APIs; `scope` space-separated. */
  token(tenant: string, scope: string): Promise<string>;
  /**
   * A producer on the target's Kafka (created once, closed by the target's owner).
   * @throws NotReachable when the brokers cannot be reached from here
   */
  kafka(): Promise<KafkaSink>;
  /**
   * Multiplies every wait and quiet period of the scenarios: 1 locally; more on AWS, where a
   * delivery crosses CloudFront, API Gateway and an event source mapping.
   */
  readonly patience: number;
}

/** The clients a scenario opens on a target, closed together at the end. */
export class Session {
  private readonly open: Client[] = [];

  constructor(readonly target: ScenarioTarget) {}

  /** A wait of `ms` locally, scaled by the target's patience. */
  wait(ms: number): number {
    return ms * this.target.patience;
  }

  /** A client connected to `path` (e.g. `/chats/1.0.0/rooms/room1`) of the target's edge. */
  async join(path: string, token: string, via: 'header' | 'query' = 'header'): Promise<Client> {
    const client = await connect(`${this.target.edgeUrl}${path}`, { token, via, waitMs: this.wait(5_000) });
    this.open.push(client);
    return client;
  }

  /** The URL of `path` at the target's edge. */
  url(path: string): string {
    return `${this.target.edgeUrl}${path}`;
  }

  close(): void {
    for (const client of this.open.splice(0)) client.close();
  }
}

/**
 * Resolves once `read()` equals `want` (deep, strict), polling every 50 ms; throws an assertion error
 * naming the last value after `timeoutMs`. The scenarios' `expect.poll(...).toEqual(...)`.
 */
export async function until<T>(read: () => T, want: T, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = read();
  while (!isDeepStrictEqual(last, want)) {
    if (Date.now() > deadline) {
      throw new Error(
        `${what}: ${JSON.stringify(last)} after ${timeoutMs} ms, expected ${JSON.stringify(want)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = read();
  }
}
