import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { backoffDelay, mapWithConcurrency, sleep } from '../core/concurrency.ts';
import { FramePoster } from './frame-poster.ts';
import { keepAliveRequestHandler } from './keep-alive.ts';

export type PostOutcome = 'sent' | 'gone' | 'failed';

export interface DeliveryReport {
  sent: number;
  /**
   * Connections that answered 410: gone, or still opening (`$connect` has not returned); the
   * caller decides which by `goneVerdict` (core/connection.ts) before removing anything.
   */
  gone: string[];
  failed: string[];
}

/**
 * The `@connections` client for the stage's callback URL (CALLBACK_URL: the execute-api URL on
 * AWS, the emulator locally). Keep-alive sockets, bounded by `maxSockets`; the SDK's own retries
 * are off because delivery retries within the invocation's time budget instead.
 */
export function createConnectionsClient(endpoint: string, maxSockets = 64): ApiGatewayManagementApiClient {
  return new ApiGatewayManagementApiClient({
    endpoint,
    maxAttempts: 1,
    requestHandler: keepAliveRequestHandler({ maxSockets }),
  });
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isGone(error: unknown): boolean {
  return (error as { name?: string }).name === 'GoneException' || statusOf(error) === 410;
}

/** Throttled (429) or a server-side failure: worth another try. */
function isRetryable(error: unknown): boolean {
  const status = statusOf(error);
  const name = (error as { name?: string }).name;
  return (
    name === 'LimitExceededException' ||
    status === 429 ||
    (status !== undefined && status >= 500) ||
    name === 'TimeoutError' ||
    (error as { code?: string }).code === 'ECONNRESET'
  );
}

export class ConnectionsApi {
  /** The hot path (PostToConnection) bypasses the SDK client when the endpoint is known. */
  private readonly poster: FramePoster | undefined;

  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    private readonly options: { concurrency: number; maxAttempts: number; endpoint?: string } = {
      concurrency: 64,
      maxAttempts: 5,
    },
  ) {
    const region = process.env.AWS_REGION;
    if (options.endpoint && region) {
      this.poster = new FramePoster(options.endpoint, region, client.config.credentials, options.concurrency);
    }
  }

  /** Post one frame; retries throttling and 5xx with backoff while `deadline` (epoch ms) allows. */
  async post(connectionId: string, data: Uint8Array | string, deadline: number): Promise<PostOutcome> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let attempt = 0; ; attempt++) {
      const status = await this.attempt(connectionId, bytes);
      if (status === 200) return 'sent';
      if (status === 410) return 'gone';
      const wait = backoffDelay(attempt);
      const retryable = status === 0 || status === 429 || status >= 500;
      if (!retryable || attempt + 1 >= this.options.maxAttempts || Date.now() + wait >= deadline) {
        return 'failed';
      }
      await sleep(wait);
    }
  }

  /** One PostToConnection: its HTTP status, 0 when none came back. */
  private async attempt(connectionId: string, data: Uint8Array): Promise<number> {
    if (this.poster) return this.poster.post(connectionId, data);
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      return 200;
    } catch (error) {
      if (isGone(error)) return 410;
      return isRetryable(error) ? (statusOf(error) ?? 0) || 503 : (statusOf(error) ?? 400);
    }
  }

  /** Post one frame to many connections, at most `concurrency` at a time. */
  postMany(
    connectionIds: readonly string[],
    frame: Uint8Array | string,
    deadline: number,
  ): Promise<DeliveryReport> {
    return this.postQueues(
      connectionIds.map((id) => [id, [frame]]),
      deadline,
    );
  }

  /**
   * Post each connection its frames in order (one at a time per connection, so order holds),
   * connections side by side, at most `concurrency` at a time. A connection that is gone gets no
   * more frames.
   */
  async postQueues(
    queues: readonly (readonly [string, readonly (Uint8Array | string)[]])[],
    deadline: number,
  ): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, gone: [], failed: [] };
    await mapWithConcurrency(queues, this.options.concurrency, async ([id, frames]) => {
      let failed = false;
      for (const frame of frames) {
        const outcome = await this.post(id, frame, deadline);
        if (outcome === 'sent') report.sent++;
        else if (outcome === 'gone') {
          report.gone.push(id);
          return;
        } else failed = true;
      }
      if (failed) report.failed.push(id);
    });
    return report;
  }

  /** Whether the connection is open now (GetConnection answers; 410 otherwise). */
  async isOpen(connectionId: string): Promise<boolean> {
    try {
      await this.client.send(new GetConnectionCommand({ ConnectionId: connectionId }));
      return true;
    } catch (error) {
      if (isGone(error)) return false;
      throw error;
    }
  }

  async disconnect(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!isGone(error)) throw error;
    }
  }
}
