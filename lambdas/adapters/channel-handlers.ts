import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { HandlerInvocation, HandlerResult } from '../core/channel-handler-api.ts';
import { GatewayError } from '../core/errors.ts';
import { invokeForResult } from './lambda-invoke.ts';

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
    return invokeForResult<HandlerResult>(
      this.lambda,
      this.functionOf(handler),
      invocation,
      `the channel handler ${handler}`,
    );
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
