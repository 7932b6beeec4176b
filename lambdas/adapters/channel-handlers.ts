import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { HandlerInvocation, HandlerResult } from '../channel-handler/api.ts';
import { GatewayError } from '../core/errors.ts';

/**
 * The channel handlers' functions (backend type `handler`), invoked with the Lambda API: names come
 * from HANDLER_FUNCTIONS (handler module → function name), which CDK sets.
 */
export class ChannelHandlers {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functions: Record<string, string>,
  ) {}

  private functionOf(handler: string): string {
    const name = this.functions[handler];
    if (!name)
      throw new GatewayError('internal_error', `no function is deployed for channel handler ${handler}`);
    return name;
  }

  /** Run the handler and wait for what it decided. */
  async call(handler: string, invocation: HandlerInvocation): Promise<HandlerResult> {
    const response = await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionOf(handler),
        InvocationType: 'RequestResponse',
        Payload: Buffer.from(JSON.stringify(invocation)),
      }),
    );
    const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '{}';
    if (response.FunctionError) {
      const detail = (() => {
        try {
          return (JSON.parse(text) as { errorMessage?: string }).errorMessage;
        } catch {
          return undefined;
        }
      })();
      throw new GatewayError(
        'bad_gateway',
        `the channel handler ${handler} failed${detail ? `: ${detail}` : ''}`,
      );
    }
    return JSON.parse(text) as HandlerResult;
  }

  /** Run the handler without waiting (an asynchronous, queued invocation). */
  async send(handler: string, invocation: HandlerInvocation): Promise<void> {
    await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.functionOf(handler),
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(invocation)),
      }),
    );
  }
}
