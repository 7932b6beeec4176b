import type { CloudFormationCustomResourceResponse } from 'aws-lambda';

/**
 * Sends a custom resource's outcome to CloudFormation: a PUT of the JSON response to the request's
 * pre-signed `ResponseURL` (an S3 URL on AWS), with no content type, as the signature expects
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html). Throws
 * when the URL does not take it (CloudFormation would then wait for the resource until it times out).
 */
export async function sendCfnResponse(
  responseUrl: string,
  response: CloudFormationCustomResourceResponse,
  fetchFn: typeof fetch = fetch,
): Promise<void> {
  const body = JSON.stringify(response);
  const answer = await fetchFn(responseUrl, {
    method: 'PUT',
    body,
    headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(body)) },
  });
  if (!answer.ok) throw new Error(`the custom resource response was refused: HTTP ${answer.status}`);
}
