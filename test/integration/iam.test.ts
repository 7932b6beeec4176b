/**
 * Local IAM end to end: every function signs with its own role's key, and each AWS call it makes
 * over HTTP is allowed or refused by that role's policies in the synthesized template, with AWS's
 * errors. Part one calls the running stack with the functions' keys (derived the way the stack
 * derives them); part two starts a second stack whose template lost one permission and sees the
 * exact call fail while the rest works.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestToken } from '../../cli/token-request.ts';
import { LocalIam } from '../../local/iam/local-iam.ts';
import { LogSink } from '../../local/log.ts';
import { type LocalStack, startLocalStack } from '../../local/stack.ts';
import { type CfnTemplate, LocalTemplate } from '../../local/template.ts';
import { connect, refusal, stack } from './helpers.ts';

const region = 'us-east-1';
const template = LocalTemplate.load(stack.assemblyDir, 'Streamgate', {
  webSocketBase: stack.urls.callback,
  httpBase: stack.urls.http,
});
const iam = new LocalIam(template, stack.credentials);
const logicalId = (prefix: string, type = 'AWS::Lambda::Function') => {
  const found = template.ofType(type).find(([id]) => id.startsWith(prefix));
  if (!found) throw new Error(`no ${type} ${prefix}* in the template`);
  return found[0];
};
const keyOf = (fn: string) => iam.credentialsFor(logicalId(fn));
const sessionOf = (fn: string) => {
  const principal = iam.principalOf(keyOf(fn).accessKeyId);
  return principal?.kind === 'role' ? principal.sessionArn : '';
};
const denied = (fn: string, action: string, resource: string) =>
  `User: ${sessionOf(fn)} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
/** What the SDK makes of a refusal: error name, HTTP status, message. */
const failure = async (promise: Promise<unknown>) => {
  const error = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name: string; message: string; $metadata: { httpStatusCode?: number } } | undefined;
  return error && { name: error.name, status: error.$metadata?.httpStatusCode, message: error.message };
};

describe('every function signs with its own role, and each call is decided by that role', () => {
  const registry = `arn:aws:dynamodb:${region}:000000000000:table/${stack.tables.RegistryTable}`;
  const dynamo = (fn: string) =>
    new DynamoDBClient({ endpoint: stack.urls.dynamodbProxy, region, credentials: keyOf(fn) });

  it('DynamoDB: what the role allows is served, anything else is refused with AccessDeniedException (400, AWS wording)', async () => {
    const key = { pk: { S: 'iam-test' }, sk: { S: 'iam-test' } };
    await expect(
      dynamo('Connect').send(new GetItemCommand({ TableName: stack.tables.RegistryTable, Key: key })),
    ).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    expect(
      await failure(
        dynamo('Connect').send(new PutItemCommand({ TableName: stack.tables.RegistryTable, Item: key })),
      ),
    ).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: denied('Connect', 'dynamodb:PutItem', registry),
    });
  });

  it('a key the stack never issued gets UnrecognizedClientException, with the command that prints the right one', async () => {
    const stranger = new DynamoDBClient({
      endpoint: stack.urls.dynamodbProxy,
      region,
      credentials: {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      },
    });
    const answer = await failure(stranger.send(new GetItemCommand({ TableName: 'x', Key: {} })));
    expect(answer?.name).toBe('UnrecognizedClientException');
    expect(answer?.message).toMatch(
      /^The security token included in the request is invalid\..*streamgate local env/,
    );
  });

  it('@connections: execute-api:ManageConnections from the role, else 403 AccessDeniedException', async () => {
    const api = template.webSocketApis()[0];
    const resource = `arn:aws:execute-api:${region}:000000000000:${api?.apiId}/${stack.stageName}/POST/@connections/nobodyHere0=`;
    const post = (fn: string) =>
      new ApiGatewayManagementApiClient({
        endpoint: stack.urls.callback,
        region,
        credentials: keyOf(fn),
      }).send(new PostToConnectionCommand({ ConnectionId: 'nobodyHere0=', Data: 'x' }));
    // The connect function's role has no @connections rights; the message function's has.
    expect(await failure(post('Connect'))).toEqual({
      name: 'AccessDeniedException',
      status: 403,
      message: denied('Connect', 'execute-api:ManageConnections', resource),
    });
    expect((await failure(post('Message')))?.name).toBe('GoneException');
  });

  it('SQS, Lambda Invoke and Secrets Manager decide by the role as well', async () => {
    const queueArn = template.queues()[0]?.arn as string;
    const sqs = (fn: string) => new SQSClient({ endpoint: stack.urls.aws, region, credentials: keyOf(fn) });
    expect(
      await failure(
        sqs('Connect').send(
          new SendMessageCommand({ QueueUrl: stack.queues.FailureQueue, MessageBody: 'x' }),
        ),
      ),
    ).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: denied('Connect', 'sqs:SendMessage', queueArn),
    });
    await expect(
      sqs('Fanout').send(
        new GetQueueAttributesCommand({ QueueUrl: stack.queues.FailureQueue, AttributeNames: ['All'] }),
      ),
    ).resolves.toMatchObject({ Attributes: { QueueArn: queueArn } });

    const producer = template.functions().find((fn) => fn.logicalId.startsWith('Producer'));
    const invoke = await failure(
      new LambdaClient({ endpoint: stack.urls.aws, region, credentials: keyOf('Connect') }).send(
        new InvokeCommand({ FunctionName: producer?.name, Payload: '{}' }),
      ),
    );
    expect(invoke).toEqual({
      name: 'AccessDeniedException',
      status: 403,
      message: denied('Connect', 'lambda:InvokeFunction', producer?.arn as string),
    });

    const signingKey = template.secrets().find((secret) => secret.rotation);
    const secret = await failure(
      new SecretsManagerClient({ endpoint: stack.urls.aws, region, credentials: keyOf('Connect') }).send(
        new GetSecretValueCommand({ SecretId: signingKey?.arn }),
      ),
    );
    expect(secret).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message: denied('Connect', 'secretsmanager:GetSecretValue', signingKey?.arn as string),
    });
  });
});

describe('streamgate local env', () => {
  it("prints the running stack's key, region and endpoints, and an AWS SDK configured from them is accepted", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(stack.root, 'cli', 'streamgate.mjs'), 'local', 'env'],
      { env: { ...process.env, STREAMGATE_STATE_DIR: stack.stateDir }, timeout: 30_000 },
    );
    const env = Object.fromEntries(
      [...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1] as string, m[2] as string]),
    );
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
      AWS_REGION: region,
      // The IAM-checking endpoint, not DynamoDB Local itself (which takes any key).
      AWS_ENDPOINT_URL_DYNAMODB: stack.urls.dynamodbProxy,
      AWS_ENDPOINT_URL_SQS: stack.urls.aws,
      AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI: stack.urls.callback,
    });
    const sdk = new ApiGatewayManagementApiClient({
      endpoint: env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI,
      region: env.AWS_REGION,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
      },
    });
    const answer = await failure(
      sdk.send(new PostToConnectionCommand({ ConnectionId: 'nobodyHere0=', Data: 'x' })),
    );
    expect(answer?.name).toBe('GoneException');
    // DynamoDB at that endpoint: the local key lists tables, another key is refused as AWS refuses it.
    const dynamodb = (accessKeyId: string, secretAccessKey: string) =>
      new DynamoDBClient({
        endpoint: env.AWS_ENDPOINT_URL_DYNAMODB,
        region: env.AWS_REGION,
        credentials: { accessKeyId, secretAccessKey },
      });
    const tables = await dynamodb(env.AWS_ACCESS_KEY_ID ?? '', env.AWS_SECRET_ACCESS_KEY ?? '').send(
      new ListTablesCommand({}),
    );
    expect(tables.TableNames?.length).toBeGreaterThan(0);
    const stranger = await failure(
      dynamodb('AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY').send(
        new ListTablesCommand({}),
      ),
    );
    expect(stranger?.name).toBe('UnrecognizedClientException');
  });
});

describe('a template whose connect role lost dynamodb:PutItem on the connections table', () => {
  let second: LocalStack;
  let logText = '';
  const ports = {
    ws: 28099,
    wss: 28098,
    http: 28090,
    aws: 28091,
    dynamodb: 28001,
    kafka: 0,
    kafkaController: 0,
  };

  /** Drop PutItem from the connect role's statement on the connections table, nothing else. */
  const removeConnectPutItem = (cfn: CfnTemplate) => {
    const [, policy] =
      Object.entries(cfn.Resources).find(
        ([id, r]) => r.Type === 'AWS::IAM::Policy' && id.startsWith('ConnectRoleDefaultPolicy'),
      ) ?? [];
    const document = policy?.Properties?.PolicyDocument as
      | { Statement: { Action: string[]; Resource: unknown }[] }
      | undefined;
    const onConnections = document?.Statement.find((s) =>
      JSON.stringify(s.Resource).includes('ConnectionsTable'),
    );
    if (!onConnections) throw new Error('the connect role has no statement on the connections table');
    if (!onConnections.Action.includes('dynamodb:PutItem'))
      throw new Error('the connect role has no PutItem to remove');
    onConnections.Action = onConnections.Action.filter((action) => action !== 'dynamodb:PutItem');
  };

  beforeAll(async () => {
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => {
      logText += chunk.toString();
    });
    second = await startLocalStack({
      root: stack.root,
      stateDir: path.join(stack.stateDir, 'iam'),
      host: '127.0.0.1',
      ports,
      log: new LogSink({ out, verbose: true }),
      persist: false,
      lambdaConcurrency: 2,
      kafkaBrokers: stack.kafkaBrokers,
      templateTransform: removeConnectPutItem,
    });
  }, 300_000);
  afterAll(async () => {
    await second?.stop();
  });

  it('refuses the handshake because the registration write is denied; the function logs AccessDeniedException as on AWS; tokens, reads and the admin still work', async () => {
    const keys = second.defaultApp.tenants['carbon.super']?.keys.PRODUCTION;
    if (!keys) throw new Error('no default application');
    // The token endpoint (registry reads, the signing key in Secrets Manager) works under its own role.
    const { access_token: token } = await requestToken(
      `${second.urls.http}/oauth2/token`,
      keys,
      'chat:read chat:write',
    );
    const refused = await refusal(connect(`${second.urls.ws}/chats/1.0.0/rooms/iam-room`, { token }));
    expect(refused.status).toBeGreaterThanOrEqual(500);
    const connections = second.template.tables().find((t) => /Connections/.test(t.logicalId))?.name;
    const resource = `arn:aws:dynamodb:${region}:000000000000:table/${connections}`;
    const principal = second.iam.principalOf(second.iam.credentialsFor(logicalId('Connect')).accessKeyId);
    const message = `User: ${principal?.kind === 'role' ? principal.sessionArn : ''} is not authorized to perform: dynamodb:PutItem on resource: ${resource} because no identity-based policy allows the dynamodb:PutItem action`;
    await expect.poll(() => logText, { timeout: 10_000 }).toContain(message);
    // …and the function's own log has the error, as Lambda's runtime writes it.
    expect(logText).toMatch(
      new RegExp(`${logicalId('Connect')}\\s.*Invoke Error.*errorType\\W+AccessDeniedException`),
    );
    // Only that action is gone: the same role still reads the table.
    const reader = new DynamoDBClient({
      endpoint: second.urls.dynamodbProxy,
      region,
      credentials: second.iam.credentialsFor(logicalId('Connect')),
    });
    await expect(
      reader.send(
        new GetItemCommand({ TableName: connections, Key: { pk: { S: 'C#none' }, sk: { S: 'C' } } }),
      ),
    ).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });
});
