import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnElement, CfnOutput, Stack } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
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
 * runtime bundled with the user's module. A handler function runs user code, so its role holds no
 * table, `@connections` or invoke rights (logs only): it answers what it wants done, and gateway
 * functions carry that out — the message function for onMessage; the follow-up function (gateway
 * code, created here with the gateway's data and posting) for onConnect's welcome once the socket
 * is open and for onDisconnect. `$connect` and the message function invoke the handlers and find
 * them by module in HANDLER_FUNCTIONS; `$connect` and `$disconnect` queue follow-ups
 * (HANDLER_FOLLOW_UP_FUNCTION). No catalog handler modules: nothing is created.
 */
export class ChannelHandlerFunctions extends StackArea {
  /** Function names by handler module. */
  readonly functionNames: Record<string, string> = {};
  /** The handler functions, in module order. */
  readonly functions: StreamgateFunction[] = [];
  /** Carries out handlers' follow-ups (absent without handler modules). */
  readonly followUpFunction: StreamgateFunction | undefined;

  constructor(scope: Construct, id: string, props: ChannelHandlerFunctionsProps) {
    super(scope, id);
    const { catalog, gateway, logRetention } = props;
    const root = props.modulesRoot ?? PROJECT_ROOT;
    const modules = handlerModules(catalog);
    if (modules.length === 0) return;
    const followUp = new StreamgateFunction(this, 'FollowUp', {
      handlerDir: 'handler-follow-up',
      catalog,
      logRetention,
    });
    gateway.bindGatewayData(followUp);
    gateway.grantPosting(followUp);
    this.followUpFunction = followUp;
    // Who calls a handler synchronously: $connect (onConnect), messages (onMessage), the follow-up (onDisconnect).
    const callers = [gateway.connectFunction, gateway.messageFunction, followUp];
    const stack = Stack.of(this);
    for (const module of modules) {
      const fn = new StreamgateFunction(this, handlerFunctionId(module), {
        handlerDir: 'channel-handler',
        serviceName: module,
        aliases: { 'streamgate-user-handler': path.join(root, module, 'index.ts') },
        catalog,
        logRetention,
      });
      for (const caller of callers) grantInvoke(fn, caller);
      this.functionNames[module] = fn.functionName;
      this.functions.push(fn);
    }
    for (const caller of [gateway.connectFunction, gateway.disconnectFunction]) grantInvoke(followUp, caller);
    for (const fn of callers) fn.setEnvironment({ handlerFunctions: stack.toJsonString(this.functionNames) });
    for (const fn of [gateway.connectFunction, gateway.disconnectFunction])
      fn.setEnvironment({ handlerFollowUpFunction: followUp.functionName });
  }
}

/** Let `caller` invoke `fn` (any version of it). */
function grantInvoke(fn: StreamgateFunction, caller: StreamgateFunction): void {
  fn.grantInvoke(caller);
  acknowledge(
    caller.role as Construct,
    `AwsSolutions-IAM5[Resource::<${Stack.of(fn).getLogicalId(fn.node.defaultChild as CfnElement)}.Arn>:*]`,
    'Invoking this one function, any version of it.',
  );
}

export interface HttpBackendSigningProps {
  /** The catalog: a secret is created only if some channel has an http backend. */
  readonly catalog: Catalog;
  /** The gateway whose message function posts to http backends. */
  readonly gateway: WebSocketGateway;
}

/**
 * The secret every request to an http backend is signed with (HMAC-SHA256, header
 * `x-streamgate-signature`; lambdas/core/backend-signature.ts): generated at deploy, readable by the
 * message function only (HTTP_BACKEND_SECRET), its ARN an output so backend owners can fetch it.
 */
export class HttpBackendSigning extends StackArea {
  /** The signing secret (absent without http backends). */
  readonly secret: Secret | undefined;

  constructor(scope: Construct, id: string, props: HttpBackendSigningProps) {
    super(scope, id);
    const hasHttp = props.catalog.apis.some((api) => api.channels.some((c) => c.backend.type === 'http'));
    if (!hasHttp) return;
    this.secret = new Secret(this, 'HttpBackendSigningSecret', {
      description: 'streamgate: signs requests to http channel backends (x-streamgate-signature)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'A secret shared with backend owners: rotating it needs them (verifiers take the old and the new secret); see docs/backends.md.',
    );
    this.secret.grantRead(props.gateway.messageFunction);
    props.gateway.messageFunction.setEnvironment({ httpBackendSecret: this.secret.secretArn });
    new CfnOutput(this, 'HttpBackendSigningSecretArn', {
      value: this.secret.secretArn,
      description: 'The secret http backends verify x-streamgate-signature with',
    });
  }
}

/** `examples/chat-backend` → `HandlerExamplesChatBackend`. */
export function handlerFunctionId(module: string): string {
  return `Handler${module
    .replace(/[^A-Za-z0-9]/g, ' ')
    .replace(/(^|\s)(\w)/g, (_, __, c: string) => c.toUpperCase())
    .replace(/\s/g, '')}`;
}
