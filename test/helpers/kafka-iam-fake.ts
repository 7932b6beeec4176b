/**
 * A small stand-in for the local stack's IAM (`LocalIamAuthority`) in tests: one role, one access
 * key, and an identity policy (IAM JSON: statements with Sid, Effect, Action, Resource and `*`/`?`
 * wildcards) read on each decision — from memory, or from a file a test rewrites while the stack
 * runs ("removing a statement from the role"). No policy at all allows everything.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { LocalIamAuthority, LocalIamPrincipal } from '../../local/kafka-iam.ts';

/** The integration stack's policy file (in its state folder) for the functions' Kafka access. */
export const KAFKA_IAM_POLICY_FILE = 'kafka-iam-policy.json';

/** One statement of an identity policy. */
export interface FixtureStatement {
  Sid: string;
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
}

export interface FixturePolicy {
  Statement: FixtureStatement[];
}

const list = (v: string | string[]): string[] => (Array.isArray(v) ? v : [v]);

/** IAM's wildcard match (case-insensitive for actions, exact for resources). */
function matches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

/** The decision of a policy: an explicit Deny wins, else any Allow, else the implicit deny. */
export function evaluate(
  policy: FixturePolicy,
  action: string,
  resourceArn: string,
): { allowed: boolean; reason: string } {
  const applies = (s: FixtureStatement) =>
    list(s.Action).some((a) => matches(a, action, true)) &&
    list(s.Resource).some((r) => matches(r, resourceArn, false));
  const deny = policy.Statement.find((s) => s.Effect === 'Deny' && applies(s));
  if (deny) return { allowed: false, reason: `explicitly denied by statement ${deny.Sid}` };
  const allow = policy.Statement.find((s) => s.Effect === 'Allow' && applies(s));
  if (allow) return { allowed: true, reason: `allowed by statement ${allow.Sid}` };
  return { allowed: false, reason: 'no statement allows it (implicit deny)' };
}

export const FIXTURE_ROLE: LocalIamPrincipal = {
  kind: 'role',
  roleLogicalId: 'FixtureRole',
  roleArn: 'arn:aws:iam::000000000000:role/streamgate-fixture',
};

/**
 * `credentials` belong to FIXTURE_ROLE (every function runs with them); `adminKeyId`, if given, is
 * the administrator's. `policy`: the role's policy, or a file holding it (absent file: allow all).
 */
export function fixtureIam(options: {
  credentials: { accessKeyId: string; secretAccessKey: string };
  policy: FixturePolicy | string;
  adminKeyId?: string;
}): LocalIamAuthority {
  const { credentials } = options;
  const policy = (): FixturePolicy | undefined => {
    if (typeof options.policy !== 'string') return options.policy;
    return existsSync(options.policy)
      ? (JSON.parse(readFileSync(options.policy, 'utf8')) as FixturePolicy)
      : undefined;
  };
  return {
    principalOf: (key) =>
      key === credentials.accessKeyId
        ? FIXTURE_ROLE
        : key === options.adminKeyId
          ? { kind: 'admin' }
          : undefined,
    secretOf: (key) => (key === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    authorize: (_principal, action, resourceArn) => {
      const current = policy();
      return current ? evaluate(current, action, resourceArn) : { allowed: true, reason: 'no policy' };
    },
    credentialsFor: () => credentials,
  };
}
