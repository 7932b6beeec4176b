import { GatewayError } from '../../lambdas/core/errors.ts';

/** The GatewayError a promise is refused with; fails the test when it resolves or throws anything else. */
export async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
