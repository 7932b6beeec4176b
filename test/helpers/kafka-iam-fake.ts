/**
 * A small stand-in for the local stack's IAM (`LocalIamAuthority`) in unit tests: one role, one
 * access key, and an identity policy, decided by `@cloud-copilot/iam-simulate` as `LocalIam` decides
 * the template's policies.
 */
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { LocalIamAuthority, LocalIamPrincipal } from '../../local/kafka-iam.ts';

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

/** The decision of a policy: an explicit Deny wins, else any Allow, else the implicit deny. */
export function evaluate(
  policy: FixturePolicy,
  action: string,
  resourceArn: string,
): { allowed: boolean; reason: string } {
  const result = runUnsafeSimulation(
    {
      request: {
        principal: FIXTURE_ROLE.kind === 'role' ? FIXTURE_ROLE.roleArn : '',
        action,
        resource: { resource: resourceArn, accountId: '000000000000' },
        contextVariables: {},
      },
      identityPolicies: [{ name: 'fixture', policy: { Version: '2012-10-17', ...policy } }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result === 'Allowed') return { allowed: true, reason: 'allowed by the fixture policy' };
  if (result === 'ExplicitlyDenied') return { allowed: false, reason: 'explicitly denied' };
  return { allowed: false, reason: 'no statement allows it (implicit deny)' };
}

export const FIXTURE_ROLE: LocalIamPrincipal = {
  kind: 'role',
  roleLogicalId: 'FixtureRole',
  roleArn: 'arn:aws:iam::000000000000:role/streamgate-fixture',
};

/**
 * `credentials` belong to FIXTURE_ROLE; `adminKeyId`, if given, is the administrator's. `policy`
 * is the role's policy, read on each decision (a test may swap it).
 */
export function fixtureIam(options: {
  credentials: { accessKeyId: string; secretAccessKey: string };
  policy: FixturePolicy;
  adminKeyId?: string;
}): LocalIamAuthority {
  const { credentials } = options;
  return {
    principalOf: (key) =>
      key === credentials.accessKeyId
        ? FIXTURE_ROLE
        : key === options.adminKeyId
          ? { kind: 'admin' }
          : undefined,
    secretOf: (key) => (key === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    authorize: (_principal, action, resourceArn) => evaluate(options.policy, action, resourceArn),
    credentialsFor: () => credentials,
  };
}
