import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { GatewayError } from '../core/errors.ts';

/**
 * Invoke a function and wait for its result. A function error becomes a 502 GatewayError that says
 * only what failed (`what`): the function's own message (user code's, or a broker's host name) is
 * the error's `cause`, for the log, never for the client.
 */
export async function invokeForResult<T>(
  lambda: LambdaClient,
  functionName: string,
  payload: unknown,
  what: string,
): Promise<T> {
  const response = await lambda.send(
    new InvokeCommand({
      FunctionName: functionName,
      InvocationType: 'RequestResponse',
      Payload: Buffer.from(JSON.stringify(payload)),
    }),
  );
  const text = response.Payload ? Buffer.from(response.Payload).toString('utf8') : '{}';
  if (response.FunctionError) {
    let detail: string | undefined;
    try {
      detail = (JSON.parse(text) as { errorMessage?: string }).errorMessage;
    } catch {
      detail = undefined;
    }
    throw new GatewayError('bad_gateway', `${what} failed`, undefined, {
      cause: new Error(`${functionName}: ${detail ?? response.FunctionError}`),
    });
  }
  return JSON.parse(text) as T;
}
