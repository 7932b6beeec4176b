/**
 * The AWS services the handlers call that have no official local engine, emulated over their real
 * wire protocol (AWS JSON 1.1 with X-Amz-Target, SigV4 checked), so the same SDK calls work:
 *   Secrets Manager: GetSecretValue, PutSecretValue, DescribeSecret, UpdateSecretVersionStage, RotateSecret.
 *   SQS (AWS JSON 1.0): SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch), GetQueueUrl,
 *   ListQueues, GetQueueAttributes, PurgeQueue — the failure destination of the Kafka fan-out.
 *   Lambda: Invoke (RequestResponse and Event), on the local Lambda service — channel handlers.
 *   Kafka (MSK): GetBootstrapBrokers — the local broker's IAM listener (as MSK Serverless, IAM only),
 *   or the plaintext brokers of an external Kafka, for the producer function.
 * Secrets are kept in a JSON file, so a signing key generated on first start stays; queues live in memory.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type LocalCredentials, signedRequestOf, verifySigV4 } from './gateway/sigv4.ts';
import type { LocalIam } from './iam/local-iam.ts';
import type { LogSink } from './log.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, type LocalQueue, type LocalSecret } from './template.ts';

interface QueuedMessage {
  messageId: string;
  body: string;
  receiptHandle?: string;
  visibleAt: number;
  sentAt: number;
  receiveCount: number;
}

const md5 = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

interface SecretVersion {
  versionId: string;
  /** Absent while a rotation's pending version waits for its createSecret step. */
  secretString?: string;
  stages: string[];
  createdDate: number;
}

interface StoredSecret {
  arn: string;
  name: string;
  rotationFunctionId?: string;
  rotated: boolean;
  versions: SecretVersion[];
}

class ServiceError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export type Rotate = (secret: { arn: string; functionId: string }, token: string) => Promise<void>;

/** Invoke a function by name or ARN; rejects with the function's error. */
export type Invoke = (functionName: string, payload: unknown, asynchronous?: boolean) => Promise<unknown>;

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;
/** Kafka (MSK) API: GetBootstrapBrokers, REST JSON. */
const BOOTSTRAP_PATH = /^\/v1\/clusters\/([^/]+)\/bootstrap-brokers$/;

export class LocalAwsServices {
  private readonly secrets = new Map<string, StoredSecret>();
  private readonly queues = new Map<string, { url: string; arn: string; messages: QueuedMessage[] }>();
  private server: Server | undefined;
  private persistChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: {
      host: string;
      port: number;
      stateFile: string;
      credentials: LocalCredentials;
      log: LogSink;
      rotate: Rotate;
      invoke?: Invoke;
      /** The local broker(s): what GetBootstrapBrokers answers (plaintext, as the local broker is). */
      kafkaBrokers?: string[];
      /** Local IAM: the functions' keys are accepted and each call is decided by the caller's role. */
      iam?: LocalIam;
      /**
       * The brokers' IAM listener (SASL_SSL, OAUTHBEARER): when set, GetBootstrapBrokers answers only
       * `BootstrapBrokerStringSaslIam`, as for an MSK Serverless cluster, which offers IAM alone.
       */
      kafkaIamBrokers?: string[];
    },
  ) {
    if (existsSync(options.stateFile)) {
      const saved = JSON.parse(readFileSync(options.stateFile, 'utf8')) as { secrets?: StoredSecret[] };
      for (const secret of saved.secrets ?? []) this.secrets.set(secret.arn, secret);
    }
  }

  get endpoint(): string {
    return `http://${this.options.host}:${this.options.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port, this.options.host, () => resolve());
    });
  }

  async stop(): Promise<void> {
    await this.persistChain;
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Create the template's secrets that do not exist yet; returns those never rotated. */
  async ensureSecrets(secrets: LocalSecret[]): Promise<LocalSecret[]> {
    const needRotation: LocalSecret[] = [];
    for (const definition of secrets) {
      let secret = this.secrets.get(definition.arn);
      if (!secret) {
        secret = {
          arn: definition.arn,
          name: definition.name,
          rotated: false,
          versions: [
            {
              versionId: randomUUID(),
              secretString: initialValue(definition),
              stages: ['AWSCURRENT'],
              createdDate: Date.now(),
            },
          ],
        };
        this.secrets.set(definition.arn, secret);
      }
      if (definition.rotation) secret.rotationFunctionId = definition.rotation.functionId;
      else delete secret.rotationFunctionId;
      if (definition.rotation?.immediately && !secret.rotated) needRotation.push(definition);
    }
    await this.persist();
    return needRotation;
  }

  /** Create the template's queues (in memory). */
  ensureQueues(queues: LocalQueue[]): void {
    for (const queue of queues) {
      if (!this.queues.has(queue.name))
        this.queues.set(queue.name, { url: queue.url, arn: queue.arn, messages: [] });
    }
  }

  /** Put a message on a queue named by its ARN (the local Lambda service's on-failure destinations). */
  sendToQueueArn(arn: string, body: string): void {
    const queue = [...this.queues.values()].find((q) => q.arn === arn);
    if (!queue) throw new Error(`no local queue ${arn}`);
    queue.messages.push({ messageId: randomUUID(), body, visibleAt: 0, sentAt: Date.now(), receiveCount: 0 });
  }

  private queueOf(input: Record<string, unknown>) {
    const url = String(input.QueueUrl ?? '');
    const name = url.split('/').pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue)
      throw new ServiceError(
        'AWS.SimpleQueueService.NonExistentQueue',
        'The specified queue does not exist.',
      );
    return queue;
  }

  /**
   * ListQueues as SQS answers it: the URLs of the queues whose name starts with `QueueNamePrefix`
   * (case-sensitive), in name order; at most `MaxResults` (1 to 1,000) a page, the rest behind
   * `NextToken`, which only a request with `MaxResults` may carry.
   * Source: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListQueues.html
   */
  private listQueues(input: Record<string, unknown>): { QueueUrls?: string[]; NextToken?: string } {
    const prefix = input.QueueNamePrefix === undefined ? '' : input.QueueNamePrefix;
    if (typeof prefix !== 'string' || prefix.length > 80)
      throw new ServiceError(
        'InvalidParameterValue',
        'QueueNamePrefix must be a string of at most 80 characters.',
      );
    const max = input.MaxResults;
    if (max !== undefined && (!Number.isInteger(max) || (max as number) < 1 || (max as number) > 1_000))
      throw new ServiceError(
        'InvalidParameterValue',
        'Value for parameter MaxResults is invalid. Reason: must be between 1 and 1000.',
      );
    if (input.NextToken !== undefined && max === undefined)
      throw new ServiceError('InvalidParameterValue', 'NextToken may be given only with MaxResults.');
    const start =
      input.NextToken === undefined
        ? 0
        : Number(Buffer.from(String(input.NextToken), 'base64url').toString());
    if (!Number.isInteger(start) || start < 0)
      throw new ServiceError('InvalidParameterValue', 'Invalid NextToken value.');
    const urls = [...this.queues.entries()]
      .filter(([name]) => name.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, queue]) => queue.url);
    const page = urls.slice(start, start + ((max as number | undefined) ?? 1_000));
    const next = start + page.length;
    return {
      ...(page.length ? { QueueUrls: page } : {}),
      ...(max !== undefined && next < urls.length
        ? { NextToken: Buffer.from(String(next)).toString('base64url') }
        : {}),
    };
  }

  private async sqs(operation: string, input: Record<string, unknown>): Promise<unknown> {
    const now = Date.now();
    switch (operation) {
      case 'ListQueues':
        return this.listQueues(input);
      case 'GetQueueUrl': {
        const queue = this.queues.get(String(input.QueueName));
        if (!queue)
          throw new ServiceError(
            'AWS.SimpleQueueService.NonExistentQueue',
            'The specified queue does not exist.',
          );
        return { QueueUrl: queue.url };
      }
      case 'SendMessage': {
        const queue = this.queueOf(input);
        const body = String(input.MessageBody ?? '');
        const message = {
          messageId: randomUUID(),
          body,
          visibleAt: now + Number(input.DelaySeconds ?? 0) * 1000,
          sentAt: now,
          receiveCount: 0,
        };
        queue.messages.push(message);
        return { MessageId: message.messageId, MD5OfMessageBody: md5(body) };
      }
      case 'SendMessageBatch': {
        const queue = this.queueOf(input);
        const entries = (input.Entries as { Id: string; MessageBody: string }[]) ?? [];
        return {
          Successful: entries.map((entry) => {
            const message = {
              messageId: randomUUID(),
              body: entry.MessageBody,
              visibleAt: now,
              sentAt: now,
              receiveCount: 0,
            };
            queue.messages.push(message);
            return { Id: entry.Id, MessageId: message.messageId, MD5OfMessageBody: md5(entry.MessageBody) };
          }),
          Failed: [],
        };
      }
      case 'ReceiveMessage': {
        const queue = this.queueOf(input);
        const max = Math.min(10, Number(input.MaxNumberOfMessages ?? 1));
        const visibility = Number(input.VisibilityTimeout ?? 30) * 1000;
        const waitUntil = now + Number(input.WaitTimeSeconds ?? 0) * 1000;
        for (;;) {
          const ready = queue.messages.filter((m) => m.visibleAt <= Date.now()).slice(0, max);
          if (ready.length || Date.now() >= waitUntil) {
            for (const m of ready) {
              m.receiptHandle = randomUUID();
              m.visibleAt = Date.now() + visibility;
              m.receiveCount++;
            }
            return {
              Messages: ready.map((m) => ({
                MessageId: m.messageId,
                ReceiptHandle: m.receiptHandle,
                MD5OfBody: md5(m.body),
                Body: m.body,
                Attributes: {
                  ApproximateReceiveCount: String(m.receiveCount),
                  SentTimestamp: String(m.sentAt),
                },
              })),
            };
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      case 'DeleteMessage': {
        const queue = this.queueOf(input);
        queue.messages = queue.messages.filter((m) => m.receiptHandle !== input.ReceiptHandle);
        return {};
      }
      case 'DeleteMessageBatch': {
        const queue = this.queueOf(input);
        const entries = (input.Entries as { Id: string; ReceiptHandle: string }[]) ?? [];
        const handles = new Set(entries.map((e) => e.ReceiptHandle));
        queue.messages = queue.messages.filter((m) => !handles.has(m.receiptHandle as string));
        return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
      }
      case 'GetQueueAttributes': {
        const queue = this.queueOf(input);
        const visible = queue.messages.filter((m) => m.visibleAt <= now).length;
        return {
          Attributes: {
            QueueArn: queue.arn,
            ApproximateNumberOfMessages: String(visible),
            ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
          },
        };
      }
      case 'PurgeQueue':
        this.queueOf(input).messages = [];
        return {};
      default:
        throw new ServiceError('UnsupportedOperation', `the local stack does not emulate SQS ${operation}`);
    }
  }

  /** RotateSecret, as the API and the local stack's first start call it. */
  async rotate(secretId: string, token: string = randomUUID()): Promise<string> {
    const secret = this.find(secretId);
    if (!secret.rotationFunctionId)
      throw new ServiceError('InvalidRequestException', 'rotation is not enabled');
    // Secrets Manager creates the pending version (without a value) before invoking the rotation function.
    for (const v of secret.versions) v.stages = v.stages.filter((stage) => stage !== 'AWSPENDING');
    secret.versions.push({ versionId: token, stages: ['AWSPENDING'], createdDate: Date.now() });
    await this.options.rotate({ arn: secret.arn, functionId: secret.rotationFunctionId }, token);
    secret.rotated = true;
    await this.persist();
    return token;
  }

  private find(secretId: string): StoredSecret {
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.name === secretId);
    if (!secret)
      throw new ServiceError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const reply = (status: number, payload: unknown) => {
      const text = JSON.stringify(payload);
      res.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    try {
      const check = await verifySigV4(
        signedRequestOf(req, body),
        this.options.iam ? (id) => this.options.iam?.secretOf(id) : this.options.credentials,
      );
      if (!check.ok) throw new ServiceError(check.error, check.message, check.status);
      if (check.unsigned) {
        throw new ServiceError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      }
      this.authorize(check.accessKeyId, req, body);
      const bootstrap = BOOTSTRAP_PATH.exec((req.url ?? '').split('?')[0] as string);
      if (bootstrap && req.method === 'GET') {
        if (this.options.kafkaIamBrokers?.length)
          return reply(200, { bootstrapBrokerStringSaslIam: this.options.kafkaIamBrokers.join(',') });
        if (!this.options.kafkaBrokers?.length)
          throw new ServiceError('NotFoundException', 'the local stack runs no Kafka broker', 404);
        return reply(200, { bootstrapBrokerString: this.options.kafkaBrokers.join(',') });
      }
      const invocation = INVOKE_PATH.exec((req.url ?? '').split('?')[0] as string);
      if (invocation && req.method === 'POST') {
        return await this.invokeFunction(decodeURIComponent(invocation[1] as string), req, res, body);
      }
      const target = String(req.headers['x-amz-target'] ?? '');
      if (!target) {
        // A REST operation of a service the stack does not serve (Lambda ListFunctions, Kafka ListClusters…).
        const where = `${req.method} ${(req.url ?? '').split('?')[0]}`;
        throw new ServiceError('UnknownOperationException', `the local stack does not emulate ${where}`);
      }
      let input: Record<string, unknown>;
      try {
        input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        throw new ServiceError('SerializationException', 'the request body is not valid JSON');
      }
      reply(200, await this.dispatch(target, input));
    } catch (error) {
      if (error instanceof ServiceError)
        return reply(error.status, { __type: error.type, message: error.message });
      this.options.log.error('aws-services', 'request failed', { error: (error as Error).message });
      reply(500, { __type: 'InternalServiceError', message: (error as Error).message });
    }
  }

  /**
   * The caller's role must allow the call (`LocalIam`), else AWS's AccessDeniedException: HTTP 403
   * on the REST APIs (Lambda Invoke, Kafka GetBootstrapBrokers), 400 on the JSON ones (SQS, Secrets
   * Manager), as their API references list it under Errors / Common Errors.
   */
  private authorize(accessKeyId: string, req: IncomingMessage, body: Buffer): void {
    const iam = this.options.iam;
    if (!iam) return;
    const principal = iam.principalOf(accessKeyId);
    if (!principal)
      throw new ServiceError(
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
        403,
      );
    const { action, resource, status } = this.iamRequestOf(req, body);
    const decision = iam.authorize(principal, action, resource);
    if (decision.allowed) return;
    this.options.log.warn('aws-services', `AccessDenied: ${decision.reason}`);
    throw new ServiceError('AccessDeniedException', decision.reason, status);
  }

  /** The IAM action and resource ARN of a request (the Service Authorization Reference of each service). */
  private iamRequestOf(
    req: IncomingMessage,
    body: Buffer,
  ): { action: string; resource: string; status: number } {
    const urlPath = (req.url ?? '').split('?')[0] as string;
    const arn = (service: string, rest: string) =>
      `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${rest}`;
    const bootstrap = BOOTSTRAP_PATH.exec(urlPath);
    if (bootstrap)
      return {
        action: 'kafka:GetBootstrapBrokers',
        resource: decodeURIComponent(bootstrap[1] as string),
        status: 403,
      };
    const invocation = INVOKE_PATH.exec(urlPath);
    if (invocation) {
      const name = decodeURIComponent(invocation[1] as string);
      const qualifier = new URL(req.url ?? '/', 'http://local').searchParams.get('Qualifier');
      const base = name.startsWith('arn:') ? name : arn('lambda', `function:${name}`);
      return {
        action: 'lambda:InvokeFunction',
        resource: qualifier ? `${base}:${qualifier}` : base,
        status: 403,
      };
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    let input: Record<string, unknown> = {};
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
    } catch {
      // The operation itself answers a malformed body.
    }
    const [prefix, operation = ''] = target.split('.');
    if (prefix === 'AmazonSQS') {
      const name = String(
        input.QueueName ??
          String(input.QueueUrl ?? '')
            .split('/')
            .pop() ??
          '',
      );
      // SQS authorizes a batch as its single action: SendMessageBatch needs sqs:SendMessage
      // (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html).
      const action = `sqs:${operation.replace(/^(SendMessage|DeleteMessage|ChangeMessageVisibility)Batch$/, '$1')}`;
      return { action, resource: name ? arn('sqs', name) : '*', status: 400 };
    }
    const secretId = String(input.SecretId ?? '');
    const secret = this.secrets.get(secretId) ?? [...this.secrets.values()].find((s) => s.name === secretId);
    return {
      action: `secretsmanager:${operation}`,
      resource:
        secret?.arn ?? (secretId.startsWith('arn:') ? secretId : arn('secretsmanager', `secret:${secretId}`)),
      status: 400,
    };
  }

  /** Lambda's Invoke API: RequestResponse answers with the result (or the function's error), Event with 202. */
  private async invokeFunction(
    name: string,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
  ): Promise<void> {
    if (!this.options.invoke) throw new ServiceError('ResourceNotFoundException', 'no local Lambda service');
    const payload = body.length ? (JSON.parse(body.toString('utf8')) as unknown) : {};
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    if (type === 'Event') {
      this.options.invoke(name, payload, true).catch((error: Error) =>
        this.options.log.error('aws-services', `asynchronous invocation of ${name} failed`, {
          error: error.message,
        }),
      );
      res.writeHead(202, { 'content-length': '0' }).end();
      return;
    }
    try {
      const result = JSON.stringify((await this.options.invoke(name, payload)) ?? null);
      res
        .writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' })
        .end(result);
    } catch (error) {
      const failure = error as { errorType?: string; name?: string; message: string };
      if (/ResourceNotFound/.test(failure.errorType ?? '')) {
        res
          .writeHead(404, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'ResourceNotFoundException',
          })
          .end(JSON.stringify({ Type: 'User', message: failure.message }));
        return;
      }
      const text = JSON.stringify({
        errorType: failure.errorType ?? failure.name ?? 'Error',
        errorMessage: failure.message,
      });
      res
        .writeHead(200, {
          'content-type': 'application/json',
          'x-amz-function-error': 'Unhandled',
          'x-amz-executed-version': '$LATEST',
        })
        .end(text);
    }
  }

  private async dispatch(target: string, input: Record<string, unknown>): Promise<unknown> {
    if (target.startsWith('AmazonSQS.')) return this.sqs(target.slice('AmazonSQS.'.length), input);
    const secretId = String(input.SecretId ?? '');
    switch (target) {
      case 'secretsmanager.GetSecretValue': {
        const secret = this.find(secretId);
        const version = this.version(
          secret,
          input.VersionId as string | undefined,
          input.VersionStage as string | undefined,
        );
        return {
          ARN: secret.arn,
          Name: secret.name,
          VersionId: version.versionId,
          SecretString: version.secretString,
          VersionStages: version.stages,
          CreatedDate: version.createdDate / 1000,
        };
      }
      case 'secretsmanager.DescribeSecret': {
        const secret = this.find(secretId);
        return {
          ARN: secret.arn,
          Name: secret.name,
          RotationEnabled: secret.rotationFunctionId !== undefined,
          VersionIdsToStages: Object.fromEntries(secret.versions.map((v) => [v.versionId, v.stages])),
        };
      }
      case 'secretsmanager.PutSecretValue': {
        const secret = this.find(secretId);
        const versionId = String(input.ClientRequestToken ?? randomUUID());
        const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
        const existing = secret.versions.find((v) => v.versionId === versionId);
        if (existing?.secretString !== undefined) {
          throw new ServiceError('ResourceExistsException', `version ${versionId} already exists`);
        }
        if (stages.includes('AWSCURRENT')) this.moveCurrent(secret, versionId);
        for (const v of secret.versions) v.stages = v.stages.filter((s) => !stages.includes(s));
        const value = {
          versionId,
          secretString: String(input.SecretString ?? ''),
          stages,
          createdDate: Date.now(),
        };
        if (existing) Object.assign(existing, value);
        else secret.versions.push(value);
        await this.persist();
        return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: stages };
      }
      case 'secretsmanager.UpdateSecretVersionStage': {
        const secret = this.find(secretId);
        const stage = String(input.VersionStage);
        const moveTo = input.MoveToVersionId as string | undefined;
        if (moveTo) {
          if (stage === 'AWSCURRENT') this.moveCurrent(secret, moveTo);
          for (const v of secret.versions) {
            v.stages = v.stages.filter((s) => s !== stage);
            // Once current, a version is no longer pending: the rotation is over.
            if (v.versionId === moveTo)
              v.stages = [...v.stages.filter((s) => !(stage === 'AWSCURRENT' && s === 'AWSPENDING')), stage];
          }
        } else if (input.RemoveFromVersionId) {
          for (const v of secret.versions) {
            if (v.versionId === input.RemoveFromVersionId) v.stages = v.stages.filter((s) => s !== stage);
          }
        }
        secret.versions = secret.versions.filter((v) => v.stages.length > 0).slice(-20);
        await this.persist();
        return { ARN: secret.arn, Name: secret.name };
      }
      case 'secretsmanager.RotateSecret': {
        const secret = this.find(secretId);
        const versionId = await this.rotate(
          secret.arn,
          (input.ClientRequestToken as string | undefined) ?? randomUUID(),
        );
        return { ARN: secret.arn, Name: secret.name, VersionId: versionId };
      }
      default:
        throw new ServiceError('UnknownOperationException', `the local stack does not emulate ${target}`);
    }
  }

  private version(secret: StoredSecret, versionId?: string, stage?: string): SecretVersion {
    const version = secret.versions.find(
      (v) =>
        (versionId === undefined || v.versionId === versionId) &&
        v.stages.includes(stage ?? 'AWSCURRENT') &&
        v.secretString !== undefined,
    );
    if (!version) {
      throw new ServiceError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret value for VersionId or VersionStage",
      );
    }
    return version;
  }

  private moveCurrent(secret: StoredSecret, versionId: string): void {
    for (const v of secret.versions) {
      v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
      if (v.stages.includes('AWSCURRENT') && v.versionId !== versionId) {
        v.stages = v.stages.filter((s) => s !== 'AWSCURRENT').concat('AWSPREVIOUS');
      }
    }
  }

  private persist(): Promise<void> {
    const snapshot = JSON.stringify({ secrets: [...this.secrets.values()] }, null, 1);
    this.persistChain = this.persistChain.then(() =>
      writeFile(this.options.stateFile, snapshot, { mode: 0o600 }),
    );
    return this.persistChain;
  }
}

function initialValue(secret: LocalSecret): string {
  if (secret.initialValue !== undefined) return secret.initialValue;
  const template = secret.generate?.template
    ? (JSON.parse(secret.generate.template) as Record<string, unknown>)
    : {};
  if (secret.generate?.key) template[secret.generate.key] = randomBytes(24).toString('base64url');
  return secret.generate?.template || secret.generate?.key
    ? JSON.stringify(template)
    : randomBytes(24).toString('base64url');
}
