/**
 * Local IAM: one identity per function of the synthesized template, and the decision AWS would make
 * for each call it signs — evaluated by `@cloud-copilot/iam-simulate` against the policies of the
 * function's execution role as the template defines them.
 *
 * What is evaluated: identity-based policies only (the role's inline `Policies`, the
 * `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy` resources attached to it, its `ManagedPolicyArns`
 * — customer managed from the template, AWS managed from ./managed-policies.ts), intrinsics resolved
 * by the local template. Not evaluated: resource policies (the stack sets none on what its functions
 * call), SCPs/RCPs and permission boundaries (none in the template; an account may add them on AWS),
 * session policies. Same account throughout, so an identity allow suffices as on AWS
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
 *
 * The admin principal is the stack's own key (LOCAL_CREDENTIALS: the AWS CLI, tests, the local stack
 * itself) and is allowed everything, as an account administrator would be.
 */
import { createHmac } from 'node:crypto';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import type { CfnResource, LocalTemplate } from '../template.ts';
import { LOCAL_ACCOUNT } from '../template.ts';
import { awsManagedPolicy } from './managed-policies.ts';

/** Who signed a request: a function's execution role (as a Lambda role session), or the stack's admin key. */
export type LocalPrincipal =
  | {
      kind: 'role';
      roleLogicalId: string;
      roleArn: string;
      /** `arn:aws:sts::<account>:assumed-role/<role name>/<function name>`: who AWS names in a refusal. */
      sessionArn: string;
    }
  | { kind: 'admin' };

/** An AWS access key pair. */
export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A policy document as the simulator takes it, with the name a refusal or a test can point at. */
export interface NamedPolicy {
  name: string;
  policy: unknown;
}

/** The outcome of `authorize`: on a refusal, `reason` is AWS's message ("User: … is not authorized to perform: …"). */
export interface IamDecision {
  allowed: boolean;
  reason: string;
}

type Json = Parameters<LocalTemplate['resolve']>[0];

const MAX_CACHED_DECISIONS = 10_000;

export class LocalIam {
  /** Roles by logical id: ARN, name and the policies attached to it (resolved). */
  private readonly roles = new Map<string, { arn: string; name: string; policies: NamedPolicy[] }>();
  /** Function logical id → its key and principal. */
  private readonly functions = new Map<string, { key: AccessKey; principal: LocalPrincipal }>();
  private readonly byAccessKey = new Map<string, { secret: string; principal: LocalPrincipal }>();
  private readonly decisions = new Map<string, IamDecision>();
  private readonly byService = new Map<string, NamedPolicy[]>();
  /** What could not be evaluated as on AWS (an AWS managed policy this stack does not hold, a role outside the template). */
  readonly warnings: string[] = [];

  /**
   * @param template the synthesized template (functions, roles, policies).
   * @param admin the stack's own key: allowed everything. Function keys are derived from its secret
   *   and the function's logical id, so they are the same on every start.
   */
  constructor(
    private readonly template: LocalTemplate,
    admin: AccessKey,
  ) {
    this.byAccessKey.set(admin.accessKeyId, { secret: admin.secretAccessKey, principal: { kind: 'admin' } });
    for (const [logicalId, fn] of template.ofType('AWS::Lambda::Function')) {
      const roleLogicalId = roleOf(fn);
      const functionName = template.physicalId(logicalId);
      if (!roleLogicalId || !template.resources[roleLogicalId]) {
        this.warnings.push(
          `function ${logicalId}: its role is not a role of the template; every call is refused`,
        );
      }
      const role = roleLogicalId ? this.role(roleLogicalId) : undefined;
      const principal: LocalPrincipal = {
        kind: 'role',
        roleLogicalId: roleLogicalId ?? '',
        roleArn: role?.arn ?? '',
        sessionArn: `arn:aws:sts::${LOCAL_ACCOUNT}:assumed-role/${role?.name ?? 'unknown'}/${functionName}`,
      };
      const key = deriveKey(admin.secretAccessKey, logicalId);
      this.functions.set(logicalId, { key, principal });
      this.byAccessKey.set(key.accessKeyId, { secret: key.secretAccessKey, principal });
    }
  }

  /** The key a function signs with (its `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`). Throws for an unknown function. */
  credentialsFor(functionLogicalId: string): AccessKey {
    const entry = this.functions.get(functionLogicalId);
    if (!entry) throw new Error(`no function ${functionLogicalId} in the template`);
    return { ...entry.key };
  }

  /** Who an access key belongs to; undefined for a key the local stack never issued. */
  principalOf(accessKeyId: string): LocalPrincipal | undefined {
    return this.byAccessKey.get(accessKeyId)?.principal;
  }

  /** The secret of an access key the local stack issued (to verify SigV4); undefined otherwise. */
  secretOf(accessKeyId: string): string | undefined {
    return this.byAccessKey.get(accessKeyId)?.secret;
  }

  /**
   * Takes `action` out of every statement of a function's role (a statement left with no action
   * goes), as editing the role in IAM would; decisions are made afresh from then on. Returns how many
   * statements changed; throws when none named the action (nothing would be tested). For tests and
   * demos (`POST /_local/iam/remove-action`); `restoreRoles` undoes every edit.
   */
  removeAction(functionLogicalId: string, action: string): number {
    const principal = this.functions.get(functionLogicalId)?.principal;
    if (principal?.kind !== 'role') throw new Error(`no function ${functionLogicalId} in the template`);
    const wanted = action.toLowerCase();
    let changed = 0;
    for (const named of this.role(principal.roleLogicalId).policies) {
      const document = named.policy as { Statement?: unknown };
      const statements = ([] as Record<string, unknown>[]).concat(
        (document.Statement ?? []) as Record<string, unknown>[],
      );
      const kept = statements.flatMap((statement) => {
        if (statement.Action === undefined) return [statement];
        const actions = ([] as unknown[]).concat(statement.Action).map(String);
        const left = actions.filter((a) => a.toLowerCase() !== wanted);
        if (left.length === actions.length) return [statement];
        changed += 1;
        return left.length ? [{ ...statement, Action: left }] : [];
      });
      named.policy = { ...document, Statement: kept };
    }
    if (!changed) throw new Error(`no statement of ${principal.roleArn} names ${action}`);
    this.decisions.clear();
    this.byService.clear();
    return changed;
  }

  /** Every role back to its policies in the template (undoes `removeAction`). */
  restoreRoles(): void {
    this.roles.clear();
    this.decisions.clear();
    this.byService.clear();
  }

  /** The identity-based policies of a role, resolved (tests, diagnostics). */
  policiesOf(roleLogicalId: string): NamedPolicy[] {
    return this.role(roleLogicalId).policies;
  }

  /**
   * AWS's decision for `principal` calling `action` (`dynamodb:PutItem`) on `resource` (an ARN),
   * with the condition keys the caller can fill (`context`). Identity-based policies only; an
   * explicit deny wins, no allow is an implicit deny
   * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
   */
  authorize(
    principal: LocalPrincipal,
    action: string,
    resource: string,
    context: Record<string, string | string[]> = {},
  ): IamDecision {
    if (principal.kind === 'admin')
      return { allowed: true, reason: "the local stack's own key: allowed everything" };
    const cacheKey = JSON.stringify([principal.roleLogicalId, action, resource, context]);
    const cached = this.decisions.get(cacheKey);
    if (cached) return cached;
    const policies = principal.roleLogicalId ? this.policiesFor(principal.roleLogicalId, action) : [];
    let result: string;
    try {
      result = runUnsafeSimulation(
        {
          request: {
            principal: principal.sessionArn,
            action,
            resource: { resource, accountId: LOCAL_ACCOUNT },
            contextVariables: context,
          },
          identityPolicies: policies,
          serviceControlPolicies: [],
          resourceControlPolicies: [],
        },
        {},
      );
    } catch (error) {
      // A policy the simulator cannot read: refuse, saying why (AWS would have refused the template).
      result = `error: ${(error as Error).message}`;
    }
    const decision: IamDecision =
      result === 'Allowed'
        ? { allowed: true, reason: `allowed by an identity-based policy of ${principal.roleArn}` }
        : {
            allowed: false,
            reason: accessDeniedMessage(
              principal.sessionArn,
              action,
              resource,
              result === 'ExplicitlyDenied' ? 'explicit' : 'implicit',
            ),
          };
    if (this.decisions.size >= MAX_CACHED_DECISIONS) this.decisions.clear();
    this.decisions.set(cacheKey, decision);
    return decision;
  }

  /**
   * The role's policies cut to the statements that can apply to `action`'s service (and every
   * NotAction statement): the same decision, evaluated in a fraction of the time on a role with
   * many statements (the fan-out's has 20+, and `@connections` resources differ on every call).
   */
  private policiesFor(roleLogicalId: string, action: string): NamedPolicy[] {
    const service = action.split(':')[0]?.toLowerCase() ?? '';
    const key = `${roleLogicalId}|${service}`;
    const known = this.byService.get(key);
    if (known) return known;
    const applies = (statement: Record<string, unknown>) => {
      if (statement.Action === undefined) return true;
      const actions = ([] as unknown[]).concat(statement.Action).map((a) => String(a).toLowerCase());
      return actions.some((a) => a === '*' || a.startsWith(`${service}:`) || !a.includes(':'));
    };
    const cut = this.role(roleLogicalId).policies.flatMap(({ name, policy }) => {
      const document = policy as { Statement?: unknown };
      const statements = ([] as Record<string, unknown>[]).concat(
        (document.Statement ?? []) as Record<string, unknown>[],
      );
      const kept = statements.filter(applies);
      return kept.length ? [{ name, policy: { ...document, Statement: kept } }] : [];
    });
    this.byService.set(key, cut);
    return cut;
  }

  private role(roleLogicalId: string): { arn: string; name: string; policies: NamedPolicy[] } {
    const known = this.roles.get(roleLogicalId);
    if (known) return known;
    const template = this.template;
    const resource = template.resources[roleLogicalId];
    const roleRef = (value: Json) => (value as { Ref?: string } | null)?.Ref === roleLogicalId;
    const attachedTo = (r: CfnResource) => ((r.Properties?.Roles ?? []) as Json[]).some(roleRef);
    const document = (value: Json | undefined) => template.resolve(value ?? null);
    const policies: NamedPolicy[] = [];
    for (const inline of (resource?.Properties?.Policies ?? []) as {
      PolicyName?: Json;
      PolicyDocument?: Json;
    }[]) {
      policies.push({
        name: `${roleLogicalId}/${String(inline.PolicyName)}`,
        policy: document(inline.PolicyDocument),
      });
    }
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
      for (const [id, policy] of template.ofType(type)) {
        if (attachedTo(policy))
          policies.push({ name: id, policy: document(policy.Properties?.PolicyDocument) });
      }
    }
    for (const arn of (resource?.Properties?.ManagedPolicyArns ?? []) as Json[]) {
      const ref = (arn as { Ref?: string } | null)?.Ref;
      const customer = ref ? template.resources[ref] : undefined;
      if (customer?.Type === 'AWS::IAM::ManagedPolicy') {
        policies.push({ name: ref as string, policy: document(customer.Properties?.PolicyDocument) });
        continue;
      }
      const resolved = String(template.resolve(arn));
      const managed = awsManagedPolicy(resolved);
      if (managed) policies.push({ name: managed.arn, policy: managed.document });
      else
        this.warnings.push(
          `role ${roleLogicalId}: managed policy ${resolved} is not known locally; evaluated as empty`,
        );
    }
    const name = resource ? template.physicalId(roleLogicalId) : roleLogicalId;
    const entry = {
      arn: resource ? template.attribute(roleLogicalId, 'Arn') : '',
      name,
      policies,
    };
    this.roles.set(roleLogicalId, entry);
    return entry;
  }
}

/**
 * AWS's refusal text for an identity-policy denial, e.g. "User: arn:aws:sts::…:assumed-role/R/F is
 * not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:…:table/T because no
 * identity-based policy allows the dynamodb:PutItem action"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
 */
export function accessDeniedMessage(
  callerArn: string,
  action: string,
  resource: string,
  kind: 'implicit' | 'explicit',
): string {
  const why =
    kind === 'explicit'
      ? 'with an explicit deny in an identity-based policy'
      : `because no identity-based policy allows the ${action} action`;
  return `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
}

/** The logical id of the role a function's `Role` property names (`Fn::GetAtt [Role, Arn]`). */
function roleOf(fn: CfnResource): string | undefined {
  const role = fn.Properties?.Role as { 'Fn::GetAtt'?: [string, string] } | undefined;
  return role?.['Fn::GetAtt']?.[0];
}

/**
 * A function's key, derived from the admin secret and its logical id: the same on every start, and
 * shaped as AWS's (20 upper-case characters starting `AKIA`; 40-character secret).
 */
function deriveKey(adminSecret: string, functionLogicalId: string): AccessKey {
  const digest = (label: string) =>
    createHmac('sha256', adminSecret).update(`${label}:${functionLogicalId}`).digest('base64url');
  const id = digest('id')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '7')
    .slice(0, 16);
  return { accessKeyId: `AKIA${id}`, secretAccessKey: digest('secret').slice(0, 40) };
}
