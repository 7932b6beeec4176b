import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { type GatewayOptions, WebSocketGateway } from '../../local/gateway/server.ts';
import { LambdaRuntime } from '../../local/lambda/runtime.ts';
import { LogSink } from '../../local/log.ts';
import { LocalTemplate } from '../../local/template.ts';
import { stack } from './helpers.ts';

/**
 * A second gateway on the running stack's synthesized template, functions and DynamoDB Local, with
 * its own Lambda runtime and log file (`<state dir>/<logName>.log`): for tests that scale AWS's
 * timeouts down. Edge paths are served as the stack serves them.
 */
export async function startSecondGateway(
  port: number,
  logName: string,
  options: Partial<GatewayOptions> = {},
): Promise<{ gateway: WebSocketGateway; lambda: LambdaRuntime; stop(): Promise<void> }> {
  const log = new LogSink({ out: createWriteStream(path.join(stack.stateDir, `${logName}.log`)) });
  const template = LocalTemplate.load(stack.assemblyDir, 'Streamgate', {
    webSocketBase: `http://localhost:${port}`,
    httpBase: stack.urls.http,
  });
  const lambda = new LambdaRuntime(template.functions(), {
    baseEnvironment: stack.awsEnvironment,
    maxConcurrency: 2,
    log,
  });
  const [api] = template.webSocketApis();
  if (!api) throw new Error('the synthesized template has no WebSocket API');
  const gateway = new WebSocketGateway({
    api,
    lambda,
    log,
    host: '127.0.0.1',
    port,
    credentials: stack.credentials,
    edgeFunctions: template.viewerRequestFunctions(),
    ...options,
  });
  await gateway.start();
  return {
    gateway,
    lambda,
    async stop() {
      await gateway.stop();
      await lambda.close();
    },
  };
}
