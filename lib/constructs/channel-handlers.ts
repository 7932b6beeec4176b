import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, Stack } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type Catalog, handlerModules } from '../../lambdas/core/catalog.ts';
import { acknowledge } from './nag.ts';
import { StackArea } from './stack-area.ts';
import { StreamgateFunction } from './streamgate-function.ts';
import type { WebSocketGateway } from './websocket-gateway.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ChannelHandlerFunctionsProps {
  /** The catalog: each handler module its channels name gets a function. */
  readonly catalog: Catalog;
  /** The gateway whose functions call the handlers, and whose connections handlers post to. */
  readonly gateway: WebSocketGateway;
  /** How long the functions' (and access) logs are kept. */
  readonly logRetention: RetentionDays;
  /**
   * Where handler modules live (a module `examples/echo` is `<root>/examples/echo/index.ts`).
   * @default - the project root
   */
  readonly modulesRoot?: string;
}

/**
 * Channel handlers (backend type `handler`): one function per handler module, the channel-handler
 * runtime bundled with the user's module. Each may use the gateway's data and post to its
 * connections; `$connect`, `$disconnect` and the message function may invoke it and find it by
 * module in HANDLER_FUNCTIONS. No catalog handler modules: nothing is created.
 */
export class ChannelHandlerFunctions extends StackArea {
  /** Function names by handler module. */
  readonly functionNames: Record<string, string> = {};
  /** The handler functions, in module order. */
  readonly functions: StreamgateFunction[] = [];

  constructor(scope: Construct, id: string, props: ChannelHandlerFunctionsProps) {
    super(scope, id);
    const { catalog, gateway, logRetention } = props;
    const root = props.modulesRoot ?? PROJECT_ROOT;
    const stack = Stack.of(this);
    for (const module of handlerModules(catalog)) {
      const fn = new StreamgateFunction(this, handlerFunctionId(module), {
        handlerDir: 'channel-handler',
        serviceName: module,
        aliases: { 'streamgate-user-handler': path.join(root, module, 'index.ts') },
        catalog,
        logRetention,
      });
      gateway.bindGatewayData(fn);
      gateway.grantPosting(fn);
      for (const caller of gateway.gatewayFunctions) {
        fn.grantInvoke(caller);
        acknowledge(
          caller.role as Construct,
          `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
          'Invoking this one channel handler function, any version of it.',
        );
      }
      this.functionNames[module] = fn.functionName;
      this.functions.push(fn);
    }
    if (this.functions.length) {
      for (const caller of gateway.gatewayFunctions) {
        caller.setEnvironment({ handlerFunctions: stack.toJsonString(this.functionNames) });
      }
    }
  }
}

/** `examples/chat-backend` → `HandlerExamplesChatBackend`. */
export function handlerFunctionId(module: string): string {
  return `Handler${module
    .replace(/[^A-Za-z0-9]/g, ' ')
    .replace(/(^|\s)(\w)/g, (_, __, c: string) => c.toUpperCase())
    .replace(/\s/g, '')}`;
}
