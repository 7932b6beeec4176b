/**
 * DynamoDB as the functions reach it locally: an IAM-checking proxy in front of DynamoDB Local
 * (which checks neither signatures nor permissions). Each request's SigV4 signature is verified
 * with the caller's key, the operation is mapped to the IAM actions and resource ARNs DynamoDB
 * authorizes (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html),
 * each is decided by the caller's role (`LocalIam`), and a refusal is answered as DynamoDB does:
 * HTTP 400 `com.amazonaws.dynamodb.v20120810#AccessDeniedException` with AWS's message. An allowed
 * request is forwarded to DynamoDB Local byte for byte.
 */
import { randomUUID } from 'node:crypto';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { signedRequestOf, verifySigV4 } from './gateway/sigv4.ts';
import type { LocalIam } from './iam/local-iam.ts';
import type { LogSink } from './log.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './template.ts';

/** One IAM check a DynamoDB request needs: the action on the resource. */
export interface DynamoDbAuthorization {
  action: string;
  resource: string;
}

type Body = Record<string, unknown>;

/** The table's ARN; `TableName` may already be one. */
export function tableArn(tableName: string, region = LOCAL_REGION, account = LOCAL_ACCOUNT): string {
  return tableName.startsWith('arn:')
    ? tableName
    : `arn:aws:dynamodb:${region}:${account}:table/${tableName}`;
}

/** The item-level action each entry of TransactWriteItems needs, per the Service Authorization Reference. */
const TRANSACT_WRITE_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
};

/**
 * What DynamoDB authorizes for an `X-Amz-Target` (`DynamoDB_20120810.PutItem`) and its JSON body:
 * the operation's own action on the table, `table/<t>/index/<i>` for a Query or Scan of an index,
 * the batch action on every table of a BatchGetItem/BatchWriteItem, the item action of every entry
 * of a TransactGetItems/TransactWriteItems. Operations that name no table (ListTables) are
 * authorized on `*`. Duplicates are dropped.
 */
export function dynamoDbAuthorizations(target: string, body: Body): DynamoDbAuthorization[] {
  const operation = target.split('.').pop() ?? '';
  const action = `dynamodb:${operation}`;
  const checks: DynamoDbAuthorization[] = [];
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      for (const table of Object.keys((body.RequestItems ?? {}) as Body))
        checks.push({ action, resource: tableArn(table) });
      break;
    case 'TransactGetItems':
      for (const item of (body.TransactItems ?? []) as Body[]) {
        const get = item.Get as Body | undefined;
        if (get) checks.push({ action: 'dynamodb:GetItem', resource: tableArn(String(get.TableName)) });
      }
      break;
    case 'TransactWriteItems':
      for (const item of (body.TransactItems ?? []) as Body[]) {
        for (const [kind, itemAction] of Object.entries(TRANSACT_WRITE_ACTIONS)) {
          const entry = item[kind] as Body | undefined;
          if (entry) checks.push({ action: itemAction, resource: tableArn(String(entry.TableName)) });
        }
      }
      break;
    case 'Query':
    case 'Scan': {
      const table = tableArn(String(body.TableName));
      checks.push({ action, resource: body.IndexName ? `${table}/index/${String(body.IndexName)}` : table });
      break;
    }
    case 'TagResource':
    case 'UntagResource':
    case 'ListTagsOfResource':
      checks.push({ action, resource: String(body.ResourceArn ?? '*') });
      break;
    default:
      checks.push({ action, resource: typeof body.TableName === 'string' ? tableArn(body.TableName) : '*' });
  }
  const seen = new Set<string>();
  return checks.filter((check) => {
    const key = `${check.action} ${check.resource}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface DynamoDbProxyOptions {
  host: string;
  /** 0: any free port (functions learn it from their environment). */
  port: number;
  /** DynamoDB Local, e.g. `http://127.0.0.1:8000`. */
  target: string;
  iam: LocalIam;
  log: LogSink;
}

/** The IAM-checking proxy: `start()` listens, `url` is what functions get as `AWS_ENDPOINT_URL_DYNAMODB`. */
export class DynamoDbProxy {
  private server: Server | undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly target: URL;

  constructor(private readonly options: DynamoDbProxyOptions) {
    this.target = new URL(options.target);
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return `http://${this.options.host}:${address?.port ?? this.options.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: Error) => {
        this.options.log.error('dynamodb-proxy', 'request failed', { error: error.message });
        if (!res.headersSent)
          reply(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', error.message);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.options.port, this.options.host, () => resolve());
    });
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const check = await verifySigV4(signedRequestOf(req, body), (accessKeyId) =>
      this.options.iam.secretOf(accessKeyId),
    );
    // DynamoDB answers every authentication failure with 400 and the coral error type.
    if (!check.ok) return reply(res, 400, `com.amazon.coral.service#${check.error}`, check.message);
    if (check.unsigned)
      return reply(
        res,
        400,
        'com.amazon.coral.service#MissingAuthenticationTokenException',
        'Request is missing Authentication Token',
      );
    const principal = this.options.iam.principalOf(check.accessKeyId);
    if (!principal)
      return reply(
        res,
        400,
        'com.amazon.coral.service#UnrecognizedClientException',
        'The security token included in the request is invalid.',
      );
    let input: Body;
    try {
      input = body.length ? (JSON.parse(body.toString('utf8')) as Body) : {};
    } catch {
      return reply(
        res,
        400,
        'com.amazon.coral.service#SerializationException',
        'Start of structure or map found where not expected.',
      );
    }
    for (const { action, resource } of dynamoDbAuthorizations(
      String(req.headers['x-amz-target'] ?? ''),
      input,
    )) {
      const decision = this.options.iam.authorize(principal, action, resource);
      if (!decision.allowed) {
        this.options.log.warn('dynamodb-proxy', `AccessDenied: ${decision.reason}`);
        return reply(res, 400, 'com.amazonaws.dynamodb.v20120810#AccessDeniedException', decision.reason);
      }
    }
    await this.forward(req, res, body);
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const upstream = request(
        {
          agent: this.agent,
          host: this.target.hostname,
          port: this.target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}

function reply(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ __type: type, message });
  res
    .writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': randomUUID(),
    })
    .end(text);
}
