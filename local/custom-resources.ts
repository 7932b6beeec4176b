/**
 * Runs the template's custom resources the way CloudFormation does on a stack's creation: for each,
 * in template order, an asynchronous (Event) invocation of the function its ServiceToken names,
 * with a `Create` request whose `ResponseURL` is a local endpoint, then waits for the response the
 * function PUTs there. A `FAILED` response fails the start with the resource's Reason, as it fails
 * `cdk deploy`. Where CloudFormation would wait an hour for a function that never answers, the
 * local stack fails at once, saying so.
 * Request and response shapes: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html
 * and crpg-ref-responses.html.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LogSink } from './log.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalCustomResource } from './template.ts';

/** What the runner needs of the local Lambda service. */
export interface CustomResourceInvoker {
  invoke(functionId: string, event: unknown, options: { asynchronous: boolean }): Promise<unknown>;
}

/** A response the function PUT to its ResponseURL. */
interface CfnResponse {
  Status?: string;
  Reason?: string;
  PhysicalResourceId?: string;
  RequestId?: string;
  LogicalResourceId?: string;
  Data?: Record<string, unknown>;
}

export class CustomResourceError extends Error {
  override name = 'CustomResourceError';
}

/** How long a function that returned may still take to PUT its response (it should before returning). */
const ANSWER_GRACE_MS = 2_000;

/**
 * Creates each custom resource; resolves with their responses by logical id. Rejects with
 * CustomResourceError naming the resource and its Reason on FAILED, a malformed response, or none.
 */
export async function createCustomResources(options: {
  resources: LocalCustomResource[];
  lambda: CustomResourceInvoker;
  stackName: string;
  log: LogSink;
  host?: string;
}): Promise<Map<string, CfnResponse>> {
  const responses = new Map<string, CfnResponse>();
  if (!options.resources.length) return responses;
  const waiting = new Map<string, (response: CfnResponse) => void>();
  const server = await listen(options.host ?? '127.0.0.1', (requestId, response) => {
    waiting.get(requestId)?.(response);
  });
  try {
    const { port } = server.address() as AddressInfo;
    const stackId = `arn:aws:cloudformation:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stack/${options.stackName}/local`;
    for (const resource of options.resources) {
      const requestId = randomUUID();
      const answered = new Promise<CfnResponse>((resolve) => waiting.set(requestId, resolve));
      const event = {
        RequestType: 'Create',
        ServiceToken: String(resource.properties.ServiceToken ?? ''),
        ResponseURL: `http://${options.host ?? '127.0.0.1'}:${port}/${requestId}`,
        StackId: stackId,
        RequestId: requestId,
        LogicalResourceId: resource.logicalId,
        ResourceType: resource.type,
        ResourceProperties: resource.properties,
      };
      options.log.info('stack', `creating ${resource.logicalId} (${resource.type})…`);
      const invocation = options.lambda.invoke(resource.functionId, event, { asynchronous: true }).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
      const outcome = await Promise.race([
        answered.then((response) => ({ response })),
        invocation.then(async (error) => {
          await new Promise((resolve) => setTimeout(resolve, ANSWER_GRACE_MS));
          return { error };
        }),
      ]);
      if (!('response' in outcome))
        throw new CustomResourceError(
          `${resource.logicalId} (${resource.type}): the function ${outcome.error ? `failed (${outcome.error.message})` : 'returned'} without sending a response to its ResponseURL; CloudFormation would wait an hour for it`,
        );
      const { response } = outcome;
      waiting.delete(requestId);
      if (response.Status === 'FAILED')
        throw new CustomResourceError(
          `${resource.logicalId} (${resource.type}) failed: ${response.Reason ?? 'no reason given'}`,
        );
      if (response.Status !== 'SUCCESS' || !response.PhysicalResourceId || response.RequestId !== requestId)
        throw new CustomResourceError(
          `${resource.logicalId} (${resource.type}): malformed response (Status SUCCESS or FAILED, PhysicalResourceId and the request's RequestId are required): ${JSON.stringify(response)}`,
        );
      options.log.info('stack', `${resource.logicalId}: ${response.Reason ?? 'created'}`);
      responses.set(resource.logicalId, response);
    }
    return responses;
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The ResponseURL endpoint: takes one PUT per request id, as S3 takes the pre-signed PUT. */
function listen(
  host: string,
  onResponse: (requestId: string, response: CfnResponse) => void,
): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'PUT') {
        res.writeHead(405).end();
        return;
      }
      let response: CfnResponse;
      try {
        response = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CfnResponse;
      } catch {
        res.writeHead(400).end();
        return;
      }
      res.writeHead(200).end();
      onResponse((req.url ?? '').slice(1), response);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve(server));
  });
}
