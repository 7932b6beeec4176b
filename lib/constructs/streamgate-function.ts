import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CfnResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import {
  LogLevel,
  NodejsFunction,
  type NodejsFunctionProps,
  OutputFormat,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import { environmentVariables, type FunctionEnvironment } from '../../lambdas/shared/env.ts';
import { acknowledge } from './nag.ts';

/**
 * What Lambda needs on a function's role to place it in a VPC: the ec2 actions of the
 * AWSLambdaVPCAccessExecutionRole managed policy (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
 */
export const VPC_NETWORK_INTERFACE_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
] as const;

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Modules left out of every bundle: none. The Node.js 22 runtime includes "a version of the AWS SDK
 * for JavaScript" (v3) that Lambda updates on its own schedule, without a package list
 * (docs.aws.amazon.com/lambda/latest/dg/nodejs-package.html, "Runtime dependencies in Node.js";
 * lambda/latest/operatorguide/sdks-functions.html), and the `@smithy/*` packages the code imports
 * directly are not part of that promise: they have been missing on the Node.js 20 and 22 runtimes
 * (aws/aws-sdk-js-v3#6169, aws/aws-cdk#33099). The SDK team's advice is to take either only what the
 * runtime has or all of `@aws-sdk` and `@smithy` from the bundle (aws/aws-sdk-js-v3#5594); streamgate
 * bundles all of it, at the version its tests ran with. Checked 2026-11-30.
 */
export const BUNDLE_EXTERNALS: readonly string[] = [];

export interface StreamgateFunctionProps
  extends Omit<
    NodejsFunctionProps,
    'entry' | 'runtime' | 'architecture' | 'bundling' | 'logGroup' | 'environment'
  > {
  /** Folder under `lambdas/` holding the handler's `index.ts`. */
  readonly handlerDir: string;
  /**
   * What the handler reads, by key of the environment contract (lambdas/shared/env.ts).
   * @default - none besides the Powertools settings
   */
  readonly environment?: FunctionEnvironment;
  /**
   * Module aliases for esbuild (a channel handler's runtime binds the user's module this way).
   * @default - none
   */
  readonly aliases?: Record<string, string>;
  /** The compiled API catalog, inlined into the bundle. */
  readonly catalog: Catalog;
  /**
   * Inline the definitions as written too (for AsyncAPI export); other bundles leave them out.
   * @default false
   */
  readonly withDefinitions?: boolean;
  /** How long the function's log group keeps logs. */
  readonly logRetention: RetentionDays;
  /**
   * POWERTOOLS_SERVICE_NAME.
   * @default - the handler folder
   */
  readonly serviceName?: string;
}

/**
 * The house Lambda: every function of streamgate is one of these, so runtime, architecture,
 * bundling, logging and metrics settings live in one place.
 *
 * - Node.js 22 on arm64 (Graviton: cheaper per GB-second).
 * - esbuild, minified, CommonJS, everything the code imports bundled — the AWS SDK and `@smithy`
 *   included (`BUNDLE_EXTERNALS`); syntax targets Node 20 so the very same bundle also runs in the
 *   local stack, which loads it with only the modules the Lambda runtime provides
 *   (local/lambda/runtime-modules.json).
 * - The API catalog is inlined (no file read or parse at cold start).
 * - An explicit log group with retention, and a role that may write to that log group only
 *   (least privilege, instead of the AWSLambdaBasicExecutionRole managed policy); structured JSON
 *   logs and EMF metrics via Powertools.
 * - Environment variables only from the contract in lambdas/shared/env.ts (`environment`,
 *   `setEnvironment`), so lib/ sets the names the handlers read.
 * - Memory 512 MB and timeout 29 s unless given (API Gateway's integration timeout).
 */
export class StreamgateFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: StreamgateFunctionProps) {
    const { handlerDir, catalog, withDefinitions, logRetention, serviceName, environment, aliases, ...rest } =
      props;
    const inlined: Catalog = withDefinitions ? catalog : { apis: catalog.apis };
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        logs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              effect: Effect.ALLOW,
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    super(scope, id, {
      memorySize: 512,
      timeout: Duration.seconds(29),
      ...rest,
      entry: path.join(PROJECT_ROOT, 'lambdas', handlerDir, 'index.ts'),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      logGroup,
      role,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: serviceName ?? handlerDir,
        POWERTOOLS_METRICS_NAMESPACE: 'streamgate',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...environmentVariables(environment ?? {}),
      },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node20',
        minify: true,
        logLevel: LogLevel.WARNING,
        sourceMap: true,
        sourcesContent: false,
        externalModules: [...BUNDLE_EXTERNALS],
        define: { __STREAMGATE_CATALOG__: JSON.stringify(inlined) },
        ...(aliases
          ? {
              esbuildArgs: {
                '--alias': Object.entries(aliases).map(([name, target]) => `${name}=${target}`),
              },
            }
          : {}),
        // The project is ESM; this marks the bundle as CommonJS wherever it is loaded from.
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_input: string, output: string) => [
            `echo '{"type":"commonjs"}' > "${path.join(output, 'package.json')}"`,
          ],
        },
      },
    });
    if (rest.vpc) {
      // CDK grants this only to roles it creates: without it Lambda refuses to create a function in a
      // VPC ("The provided execution role does not have permissions to call CreateNetworkInterface
      // on EC2"). The actions of AWSLambdaVPCAccessExecutionRole without its logs:* on every log
      // group (the role already writes its own); EC2 takes no narrower resource for the Describe
      // actions, and Lambda, not the function, makes these calls.
      // https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
      role.addToPrincipalPolicy(
        new PolicyStatement({ actions: [...VPC_NETWORK_INTERFACE_ACTIONS], resources: ['*'] }),
      );
      acknowledge(
        role,
        'AwsSolutions-IAM5[Resource::*]',
        'Lambda manages the network interfaces of a function in a VPC with these ec2 actions, whose Describe calls take no resource narrower than *.',
      );
    }
    // CDK adds an explicit DependsOn on the role next to the GetAtt that already implies it.
    (this.node.defaultChild as CfnResource).addMetadata('cfn-lint', { config: { ignore_checks: ['W3005'] } });
    acknowledge(
      this,
      'AwsSolutions-L1',
      'Node.js 22 is the runtime streamgate targets and tests; upgrades are deliberate.',
    );
  }

  /** Set variables of the environment contract (lambdas/shared/env.ts) on this function. */
  setEnvironment(environment: FunctionEnvironment): this {
    for (const [name, value] of Object.entries(environmentVariables(environment))) {
      this.addEnvironment(name, value);
    }
    return this;
  }
}
