import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import {
  checkHandlerResult,
  type HandlerFollowUp,
  type HandlerInvocation,
  type HandlerResult,
} from '../core/channel-handler-api.ts';
import { GatewayError } from '../core/errors.ts';
import { invokeForResult } from './lambda-invoke.ts';

/**
 * The channel handlers' functions (backend type `handler`), invoked with the Lambda API: names come
 * from HANDLER_FUNCTIONS (handler module → function name), which CDK sets; the follow-up function
 * (HANDLER_FOLLOW_UP_FUNCTION) carries out what must wait until after the gateway answered.
 */
export class ChannelHandlers {
  constructor(
    private readonly lambda: LambdaClient,
    private readonly functions: Record<string, string>,
    private readonly followUpFunction?: string,
  ) {}

  private functionOf(handler: string): string {
    const name = this.functions[handler];
    if (!name)
      throw new GatewayError('internal_error', `no function is deployed for channel handler ${handler}`);
    return name;
  }

  /** Run the handler and wait for what it decided (checked: the handler runs user code). */
  async call(handler: string, invocation: HandlerInvocation): Promise<HandlerResult> {
    const answer = await invokeForResult<unknown>(
      this.lambda,
      this.functionOf(handler),
      invocation,
      'the channel handler',
    );
    return checkHandlerResult(answer);
  }

  /** Queue a follow-up (an asynchronous invocation of the follow-up function). */
  async followUp(event: HandlerFollowUp): Promise<void> {
    if (!this.followUpFunction)
      throw new GatewayError('internal_error', 'no channel handler follow-up function is deployed');
    await this.lambda.send(
      new InvokeCommand({
        FunctionName: this.followUpFunction,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(event)),
      }),
    );
  }
}
