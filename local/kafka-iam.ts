/**
 * IAM access control for the local Kafka broker, as Amazon MSK applies it on its IAM listener
 * (port 9098): the client authenticates with SASL OAUTHBEARER carrying an MSK IAM token (a
 * SigV4-presigned `kafka-cluster:Connect` request), and every Kafka operation it then asks for is
 * allowed or denied by the caller's IAM policies as the `kafka-cluster:*` action MSK maps it to, on
 * the cluster, topic, group or transactional-id ARN (with the cluster's UUID).
 *
 * The broker side is two Java classes (local/kafka-authorizer/): a SASL server callback handler and
 * a Kafka `Authorizer`. They ask this module over loopback HTTP (`KafkaIamServer`), which verifies
 * the token's signature with the caller's secret and asks a `LocalIamAuthority` for each decision.
 *
 * Sources: "IAM access control for Amazon MSK" and "Semantics of IAM authorization policy actions
 * and resources" (https://docs.aws.amazon.com/msk/latest/developerguide/iam-access-control.html,
 * https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html); the token format is
 * that of AWS's signer (aws-msk-iam-sasl-signer-js, `generateAuthTokenFromCredentialsProvider`).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { LogSink } from './log.ts';

/** Who an access key belongs to: a function's execution role, or the local stack's administrator. */
export type LocalIamPrincipal = { kind: 'role'; roleLogicalId: string; roleArn: string } | { kind: 'admin' };

/** An IAM decision, with the reason a denial gives (which statement, or none that allows). */
export interface LocalIamDecision {
  allowed: boolean;
  reason: string;
}

type Awaitable<T> = T | Promise<T>;

/**
 * The local stack's IAM (the `LocalIam` of branch r12-iam): credentials per function and decisions
 * from the synthesized template's policies. Methods may answer synchronously or with a promise.
 */
export interface LocalIamAuthority {
  /** The principal an access key id belongs to; undefined for an unknown key. */
  principalOf(accessKeyId: string): Awaitable<LocalIamPrincipal | undefined>;
  /** The secret access key of an access key id (to verify a SigV4 signature); undefined if unknown. */
  secretOf(accessKeyId: string): Awaitable<string | undefined>;
  /** Whether `principal` may perform `action` (e.g. `kafka-cluster:WriteData`) on `resourceArn`. */
  authorize(
    principal: LocalIamPrincipal,
    action: string,
    resourceArn: string,
    context?: Record<string, string>,
  ): Awaitable<LocalIamDecision>;
  /** The credentials a function runs with (its execution role's). */
  credentialsFor(functionLogicalId: string): Awaitable<{ accessKeyId: string; secretAccessKey: string }>;
}

/** The parts of an MSK cluster ARN, `arn:aws:kafka:{region}:{account}:cluster/{name}/{uuid}`. */
export interface MskClusterArn {
  partition: string;
  region: string;
  account: string;
  name: string;
  uuid: string;
}

const CLUSTER_ARN = /^arn:(aws[a-z-]*):kafka:([a-z0-9-]+):(\d{12}):cluster\/([^/]+)\/([^/]+)$/;

/** Parses a cluster ARN; throws when it lacks the cluster's UUID (`cluster/{name}` alone). */
export function parseClusterArn(arn: string): MskClusterArn {
  const match = CLUSTER_ARN.exec(arn);
  if (!match) throw new Error(`not an MSK cluster ARN (arn:aws:kafka:…:cluster/{name}/{uuid}): ${arn}`);
  const [, partition, region, account, name, uuid] = match as unknown as [string, ...string[]];
  return {
    partition: partition as string,
    region: region as string,
    account: account as string,
    name: name as string,
    uuid: uuid as string,
  };
}

/** Kafka resource types the mapping knows (org.apache.kafka.common.resource.ResourceType names). */
export type KafkaResourceType = 'CLUSTER' | 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID';

const ARN_RESOURCE: Record<Exclude<KafkaResourceType, 'CLUSTER'>, string> = {
  TOPIC: 'topic',
  GROUP: 'group',
  TRANSACTIONAL_ID: 'transactional-id',
};

/**
 * The ARN of a Kafka resource of `cluster`: `cluster/{name}/{uuid}`, `topic/{name}/{uuid}/{topic}`,
 * `group/{name}/{uuid}/{group}`, `transactional-id/{name}/{uuid}/{id}` (MSK doc, "Authorization
 * policy resources"). `resourceName` `*` stands for every resource of the type.
 */
export function mskResourceArn(
  cluster: MskClusterArn,
  type: KafkaResourceType,
  resourceName: string,
): string {
  const base = `arn:${cluster.partition}:kafka:${cluster.region}:${cluster.account}`;
  if (type === 'CLUSTER') return `${base}:cluster/${cluster.name}/${cluster.uuid}`;
  return `${base}:${ARN_RESOURCE[type]}/${cluster.name}/${cluster.uuid}/${resourceName}`;
}

/**
 * MSK's IAM action for a Kafka ACL operation (org.apache.kafka.common.acl.AclOperation names) on a
 * resource type: the "equivalent to Apache Kafka's {OPERATION} {RESOURCE} ACL" of each action in
 * the MSK doc's table. Kafka's own request handling decides which checks a request makes (Produce:
 * WRITE on the topic; Metadata: DESCRIBE on each topic; JoinGroup/SyncGroup/Heartbeat: READ on the
 * group; OffsetCommit: READ on the group and each topic; OffsetFetch and FindCoordinator: DESCRIBE
 * on the group), so a request needs the same set of actions on MSK and here. Unlike Kafka's own
 * authorizer, no operation implies DESCRIBE: MSK lists DescribeTopic and DescribeGroup as separate
 * required actions. `CREATE` on the cluster (CreateTopics' first check, before the per-topic one)
 * is CreateTopic on every topic. Undefined: no IAM action grants it (cluster-internal operations,
 * delegation tokens), so only the administrator may.
 */
export function mskActionOf(operation: string, resourceType: string): string | undefined {
  const table: Record<string, Record<string, string>> = {
    CLUSTER: {
      DESCRIBE: 'kafka-cluster:DescribeCluster',
      ALTER: 'kafka-cluster:AlterCluster',
      DESCRIBE_CONFIGS: 'kafka-cluster:DescribeClusterDynamicConfiguration',
      ALTER_CONFIGS: 'kafka-cluster:AlterClusterDynamicConfiguration',
      IDEMPOTENT_WRITE: 'kafka-cluster:WriteDataIdempotently',
      CREATE: 'kafka-cluster:CreateTopic',
    },
    TOPIC: {
      READ: 'kafka-cluster:ReadData',
      WRITE: 'kafka-cluster:WriteData',
      CREATE: 'kafka-cluster:CreateTopic',
      DELETE: 'kafka-cluster:DeleteTopic',
      ALTER: 'kafka-cluster:AlterTopic',
      DESCRIBE: 'kafka-cluster:DescribeTopic',
      DESCRIBE_CONFIGS: 'kafka-cluster:DescribeTopicDynamicConfiguration',
      ALTER_CONFIGS: 'kafka-cluster:AlterTopicDynamicConfiguration',
    },
    GROUP: {
      READ: 'kafka-cluster:AlterGroup',
      DESCRIBE: 'kafka-cluster:DescribeGroup',
      DELETE: 'kafka-cluster:DeleteGroup',
    },
    TRANSACTIONAL_ID: {
      DESCRIBE: 'kafka-cluster:DescribeTransactionalId',
      WRITE: 'kafka-cluster:AlterTransactionalId',
    },
  };
  return table[resourceType]?.[operation];
}

/** One check the broker asks for: a Kafka operation on a resource, as its authorizer sees it. */
export interface KafkaCheck {
  operation: string;
  resourceType: string;
  resourceName: string;
  /**
   * False where Kafka only filters on the answer (topics listed in a metadata request, configs in a
   * CreateTopics response): a denial there is not a failure, and is not logged (Kafka's
   * `Action.logIfDenied`). @default true
   */
  logIfDenied?: boolean;
}

/**
 * The IAM request a Kafka check is: `{action, resourceArn}`, or undefined when no IAM action grants
 * it. Cluster-wide CREATE is asked as CreateTopic on `topic/{name}/{uuid}/*`, so only a policy that
 * allows every topic grants it (Kafka then falls back to asking per topic).
 */
export function mskRequestOf(
  check: KafkaCheck,
  cluster: MskClusterArn,
): { action: string; resourceArn: string } | undefined {
  const action = mskActionOf(check.operation, check.resourceType);
  if (!action) return undefined;
  const type = check.resourceType as KafkaResourceType;
  const resourceArn =
    type === 'CLUSTER' && check.operation === 'CREATE'
      ? mskResourceArn(cluster, 'TOPIC', '*')
      : mskResourceArn(cluster, type, check.resourceName);
  return { action, resourceArn };
}

/** What a verified token says: whose key signed it and until when it is valid (epoch ms). */
export interface MskIamIdentity {
  accessKeyId: string;
  expiresAtMs: number;
}

/** A token refused, with why (shown in the broker's authentication error). */
export class MskTokenError extends Error {
  override name = 'MskTokenError';
}

const MSK_HOST = /^kafka(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** SigV4's clock skew allowance for a signing date in the future. */
const MAX_SKEW_MS = 5 * 60_000;

/**
 * Verifies an MSK IAM token: base64url of `https://kafka.{region}.amazonaws.com/?Action=kafka-cluster%3AConnect`
 * presigned with SigV4 (service `kafka-cluster`, signed header `host`), plus an unsigned `User-Agent`.
 * The signature is recomputed with the key's secret (`secretOf`); an unknown key, a wrong signature,
 * an expired or future-dated token, or another action throws `MskTokenError`.
 */
export async function verifyMskIamToken(
  token: string,
  secretOf: (accessKeyId: string) => Awaitable<string | undefined>,
  now: number = Date.now(),
): Promise<MskIamIdentity> {
  let url: URL;
  try {
    url = new URL(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new MskTokenError('the token is not a base64url-encoded URL');
  }
  const host = MSK_HOST.exec(url.hostname);
  if (url.protocol !== 'https:' || !host || url.pathname !== '/')
    throw new MskTokenError(`the token is not an MSK IAM request (${url.origin}${url.pathname})`);
  const q = url.searchParams;
  if (q.get('Action') !== 'kafka-cluster:Connect')
    throw new MskTokenError(`the token's action is ${q.get('Action')}, not kafka-cluster:Connect`);
  if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256')
    throw new MskTokenError('the token is not signed with AWS4-HMAC-SHA256');
  const [accessKeyId, day, region, service, terminator] = (q.get('X-Amz-Credential') ?? '').split('/');
  if (
    !accessKeyId ||
    !region ||
    service !== 'kafka-cluster' ||
    terminator !== 'aws4_request' ||
    region !== host[1]
  )
    throw new MskTokenError('the token has no valid X-Amz-Credential scope');
  const date = AMZ_DATE.exec(q.get('X-Amz-Date') ?? '');
  const expires = Number(q.get('X-Amz-Expires'));
  if (!date || !Number.isInteger(expires) || expires < 1 || expires > 604_800)
    throw new MskTokenError('the token has no valid X-Amz-Date and X-Amz-Expires');
  const [, y, mo, d, h, mi, s] = date.map(Number) as number[];
  const signedAt = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  if (day !== (q.get('X-Amz-Date') ?? '').slice(0, 8))
    throw new MskTokenError('the token’s credential scope and signing date differ');
  if (signedAt - now > MAX_SKEW_MS) throw new MskTokenError('the token is signed in the future');
  const expiresAtMs = signedAt + expires * 1000;
  if (expiresAtMs <= now) throw new MskTokenError('the token has expired');
  const secretAccessKey = await secretOf(accessKeyId);
  if (!secretAccessKey) throw new MskTokenError(`the access key ${accessKeyId} is not known`);

  const signed = new Set(['X-Amz-Signature', 'User-Agent']);
  const query: Record<string, string> = {};
  for (const [name, value] of q) if (!name.startsWith('X-Amz-') && !signed.has(name)) query[name] = value;
  const sessionToken = q.get('X-Amz-Security-Token');
  const signer = new SignatureV4({
    service: 'kafka-cluster',
    region,
    credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
    sha256: Sha256,
    applyChecksum: false,
  });
  const expected = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname: url.hostname,
      path: '/',
      headers: { host: url.hostname },
      query,
    },
    { signingDate: new Date(signedAt), expiresIn: expires },
  );
  const want = Buffer.from(String(expected.query?.['X-Amz-Signature'] ?? ''));
  const got = Buffer.from(q.get('X-Amz-Signature') ?? '');
  if (want.length !== got.length || !timingSafeEqual(want, got))
    throw new MskTokenError('the token’s signature does not match (wrong secret, or altered)');
  return { accessKeyId, expiresAtMs };
}

/** Kafka's principal of the broker's own listeners (PLAINTEXT, CONTROLLER): the local administrator. */
export const ANONYMOUS_PRINCIPAL = 'ANONYMOUS';

export interface KafkaIamServerOptions {
  /** The local MSK cluster's ARN, `arn:aws:kafka:{region}:{account}:cluster/{name}/{uuid}`. */
  clusterArn: string;
  /** Asked for each decision (a function: the stack may swap the authority, as tests do). */
  iam: () => LocalIamAuthority;
  log: LogSink;
}

/**
 * The loopback HTTP endpoint the broker's Java classes call (plain text, one request per line):
 *   POST /authenticate  body: the OAUTHBEARER token → 200 `{accessKeyId} {expiresAtMs}`, or 401 reason
 *   POST /authorize     body: lines `{principal}\t{OPERATION}\t{RESOURCE_TYPE}\t{url-encoded name}`
 *                       → 200 one line per check, `ALLOWED` or `DENIED`
 * Authentication also requires `kafka-cluster:Connect` on the cluster, as MSK does (without it a
 * client, or an event source mapping, sees "SASL authentication failed").
 */
export class KafkaIamServer {
  private server: Server | undefined;
  private readonly cluster: MskClusterArn;
  /** Denials already logged (principal, action, resource), so that a retrying client logs each once. */
  private readonly logged = new Set<string>();

  constructor(private readonly options: KafkaIamServerOptions) {
    this.cluster = parseClusterArn(options.clusterArn);
  }

  /** Starts on a free loopback port; returns the base URL the broker is given. */
  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    // The broker's HTTP client keeps connections alive; close() alone would wait for them.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The decision for each check of one principal (an access key id, or `ANONYMOUS`). */
  async decide(principalName: string, checks: KafkaCheck[]): Promise<boolean[]> {
    if (principalName === ANONYMOUS_PRINCIPAL) return checks.map(() => true);
    const iam = this.options.iam();
    const principal = await iam.principalOf(principalName);
    if (!principal) return checks.map(() => false);
    if (principal.kind === 'admin') return checks.map(() => true);
    return Promise.all(
      checks.map(async (check) => {
        const request = mskRequestOf(check, this.cluster);
        if (!request) {
          this.logDenial(
            principal,
            `${check.operation} ${check.resourceType}`,
            check.resourceName,
            'no IAM action grants it',
          );
          return false;
        }
        const decision = await iam.authorize(principal, request.action, request.resourceArn);
        if (!decision.allowed && check.logIfDenied !== false)
          this.logDenial(principal, request.action, request.resourceArn, decision.reason);
        return decision.allowed;
      }),
    );
  }

  /** Verifies a token and checks `kafka-cluster:Connect`; throws `MskTokenError` when refused. */
  async authenticate(token: string): Promise<MskIamIdentity> {
    const iam = this.options.iam();
    const identity = await verifyMskIamToken(token, (key) => iam.secretOf(key));
    const principal = await iam.principalOf(identity.accessKeyId);
    if (!principal) throw new MskTokenError(`the access key ${identity.accessKeyId} is not known`);
    if (principal.kind === 'role') {
      const clusterArn = mskResourceArn(this.cluster, 'CLUSTER', '');
      const decision = await iam.authorize(principal, 'kafka-cluster:Connect', clusterArn);
      if (!decision.allowed) {
        this.logDenial(principal, 'kafka-cluster:Connect', clusterArn, decision.reason);
        throw new MskTokenError(`${principal.roleArn} is not allowed kafka-cluster:Connect on ${clusterArn}`);
      }
    }
    return identity;
  }

  private logDenial(principal: LocalIamPrincipal, action: string, resource: string, reason: string): void {
    const who = principal.kind === 'role' ? principal.roleArn : 'admin';
    const key = `${who} ${action} ${resource}`;
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.options.log.warn('kafka-iam', `denied ${action} on ${resource} to ${who}: ${reason}`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const reply = (status: number, text: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
    };
    try {
      if (req.method === 'POST' && req.url === '/authenticate') {
        const identity = await this.authenticate(body.trim());
        this.options.log.debug('kafka-iam', `authenticated ${identity.accessKeyId}`);
        return reply(200, `${identity.accessKeyId} ${identity.expiresAtMs}`);
      }
      if (req.method === 'POST' && req.url === '/authorize') {
        const lines = body.split('\n').filter(Boolean);
        const decisions = await Promise.all(
          lines.map(async (line) => {
            const [principal = '', operation = '', resourceType = '', name = '', log = '1'] =
              line.split('\t');
            const [allowed] = await this.decide(principal, [
              { operation, resourceType, resourceName: decodeURIComponent(name), logIfDenied: log !== '0' },
            ]);
            return allowed ? 'ALLOWED' : 'DENIED';
          }),
        );
        return reply(200, decisions.join('\n'));
      }
      return reply(404, 'not found');
    } catch (error) {
      if (error instanceof MskTokenError) {
        this.options.log.warn('kafka-iam', `SASL authentication failed: ${error.message}`);
        return reply(401, error.message);
      }
      this.options.log.error('kafka-iam', `decision failed: ${(error as Error).message}`);
      return reply(500, (error as Error).message);
    }
  }
}
