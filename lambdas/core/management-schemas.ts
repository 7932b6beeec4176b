/**
 * What the management API accepts: one zod schema per request body, with a type, a range and a
 * length for every field, and unknown fields refused by name. docs/management-api.yaml states the
 * same limits (test/unit/management-api-doc.test.ts compares them with these schemas).
 * The limits keep every stored item far below DynamoDB's 400 KB item size and every key below its
 * 1 KB sort-key / 2 KB partition-key limits.
 */
import { z } from 'zod';
import { APPLICATION_NAME, SUBSCRIPTION_STATUSES } from './applications.ts';
import { LIFECYCLE_STATES } from './catalog.ts';
import { GatewayError } from './errors.ts';
import { PLAN_NAME, PLAN_PERIODS, type Plan } from './plans.ts';

/** The limits of the management API's fields (characters unless named otherwise). */
export const LIMITS = {
  /** Application, API and owner names. */
  name: 100,
  /** A plan's description. */
  description: 1_000,
  /** An API version (`1.0.0`). */
  version: 50,
  /** An external issuer (its `iss`, a URL). */
  issuer: 512,
  /** An external client id. */
  clientId: 256,
  /** A topic instance (`/rooms/room1`) or an API path (`/t/quantis.com/chats/1.0.0`). */
  path: 1_024,
  /** Events per period of a plan: a whole number up to a trillion. */
  events: 1_000_000_000_000,
  /**
   * Concurrent connections per subscription: each live connection holds a slot in one DynamoDB
   * item (~30 bytes), so 1,000 slots stay near 30 KB; plans that need more leave the cap out.
   */
  maxConnections: 1_000,
  /** Arrays and objects nested in a published frame's JSON data. */
  depth: 64,
  /** A request body, bytes (a publish carries up to 128 KB of data, JSON-escaped). */
  body: 1_048_576,
} as const;

/** Text without control characters (names, owners, descriptions shown in consoles and logs). */
const PRINTABLE = /^[^\p{Cc}]*$/u;
/** A URL-like token without blanks or control characters (issuers, client ids). */
const TOKEN = /^[\x21-\x7e]+$/;

const text = (field: string, max: number) =>
  z
    .string({ error: `"${field}" must be text` })
    .max(max, `"${field}" is at most ${max} characters`)
    .regex(PRINTABLE, `"${field}" holds no control characters`);

/** A required text field: blank is missing (`"name" is required`). */
const required = (field: string, max: number) =>
  z
    .string({
      error: (issue) => (issue.input === undefined ? `"${field}" is required` : `"${field}" must be text`),
    })
    .trim()
    .min(1, `"${field}" is required`)
    .max(max, `"${field}" is at most ${max} characters`)
    .regex(PRINTABLE, `"${field}" holds no control characters`);

const planName = z
  .string({ error: '"plan" must be text' })
  .regex(PLAN_NAME, 'a plan name holds letters, digits, "_" and "-" (at most 64)');

/** POST /admin/tenants/{tenant}/applications */
export const CreateApplication = z.strictObject({
  name: required('name', LIMITS.name).regex(
    APPLICATION_NAME,
    'an application name starts with a letter or digit and holds letters, digits, spaces, ".", "_" and "-" (at most 100)',
  ),
  owner: text('owner', LIMITS.name).min(1, '"owner" must not be empty').optional(),
});

/** POST /admin/tenants/{tenant}/applications/{app}/external-clients */
export const MapExternalClient = z.strictObject({
  issuer: required('issuer', LIMITS.issuer).regex(TOKEN, '"issuer" holds no blanks or control characters'),
  clientId: required('clientId', LIMITS.clientId).regex(
    TOKEN,
    '"clientId" holds no blanks or control characters',
  ),
});

/** POST /admin/tenants/{tenant}/applications/{app}/subscriptions: the API by path, or by name and version. */
export const Subscribe = z.strictObject({
  api: text('api', LIMITS.path).optional(),
  name: text('name', LIMITS.name).optional(),
  version: text('version', LIMITS.version).optional(),
  plan: required('plan', 64).pipe(planName),
});

/** PATCH /admin/tenants/{tenant}/applications/{app}/subscriptions/{api}/{version} */
export const ChangeSubscription = z.strictObject({
  plan: required('plan', 64).pipe(planName).optional(),
  status: z.enum(SUBSCRIPTION_STATUSES as [string, ...string[]], 'status is ACTIVE or BLOCKED').optional(),
});

/** PUT /admin/tenants/{tenant}/plans/{plan}: `name`, when sent, is the path's (ignored). */
export const PlanInput = z
  .strictObject({
    name: z.string().max(64).optional(),
    description: text('description', LIMITS.description).optional(),
    events: z
      .number({ error: 'events must be a whole number of events per period' })
      .max(LIMITS.events, `events is at most ${LIMITS.events} per period`)
      .min(0, 'events must be a whole number of events per period (0 or more)')
      .int('events must be a whole number of events per period')
      .optional(),
    per: z
      .enum(PLAN_PERIODS as [string, ...string[]], `per must be one of ${PLAN_PERIODS.join(', ')}`)
      .optional(),
    maxConnections: z
      .number({ error: 'maxConnections must be a whole number of at least 1' })
      .max(LIMITS.maxConnections, `maxConnections is at most ${LIMITS.maxConnections}`)
      .min(1, 'maxConnections must be a whole number of at least 1')
      .int('maxConnections must be a whole number of at least 1')
      .optional(),
  })
  .superRefine((plan, context) => {
    if (plan.events !== undefined && plan.per === undefined)
      context.addIssue({
        code: 'custom',
        path: ['per'],
        message: `per must be one of ${PLAN_PERIODS.join(', ')}`,
      });
    if (plan.events === undefined && plan.per !== undefined)
      context.addIssue({ code: 'custom', path: ['per'], message: 'per needs events' });
  });

/** PUT /admin/tenants/{tenant}/apis/{api}/{version}/lifecycle (the state in any case). */
export const ChangeLifecycle = z.strictObject({
  state: required('state', 20)
    .transform((state) => state.toUpperCase())
    .pipe(
      z.enum(LIFECYCLE_STATES as [string, ...string[]], `state is one of ${LIFECYCLE_STATES.join(', ')}`),
    ),
});

/** POST /admin/tenants/{tenant}/apis/{api}/{version}/publish: the frame as text or JSON (≤ 128 KB, checked on its text). */
export const Publish = z.strictObject({
  topic: required('topic', LIMITS.path),
  data: z
    .union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())], {
      error: (issue) =>
        issue.input === undefined || issue.input === null
          ? '"data" is required: the frame, as a string or JSON'
          : '"data" is the frame: a string, a JSON object or an array',
    })
    .refine((data) => nestedWithin(data, LIMITS.depth), `"data" is nested more than ${LIMITS.depth} deep`),
});

/** Whether JSON nests at most `limit` arrays and objects deep (iteratively: deep input must not overflow the stack). */
function nestedWithin(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= limit) return false;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return true;
}

/** Every route that takes no body and no query string. */
export const NoInput = z.strictObject({});

/** One line saying what is wrong with an input: the first problem of each field, unknown fields by name. */
export function describeIssues(error: z.ZodError): string {
  const seen = new Set<string>();
  return error.issues
    .filter((issue) => {
      const field = issue.path.join('.');
      if (seen.has(field) && issue.code !== 'unrecognized_keys') return false;
      seen.add(field);
      return true;
    })
    .slice(0, 3)
    .map((issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys
            .slice(0, 5)
            .map((key) => `"${key.slice(0, 64)}"`)
            .join(', ')}`
        : issue.message,
    )
    .join('; ');
}

/**
 * The input as the schema reads it.
 * @throws GatewayError bad_request naming what is wrong
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new GatewayError('bad_request', describeIssues(result.error));
  return result.data;
}

/** A plan as sent to the management API, named by its path. */
export function planFromInput(name: string, input: unknown): Plan {
  const { events, per, maxConnections, description } = parseInput(PlanInput, input);
  return {
    name,
    ...(description ? { description } : {}),
    ...(events !== undefined ? { events, per: per as Plan['per'] } : {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
  } as Plan;
}
