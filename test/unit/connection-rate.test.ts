import { describe, expect, it } from 'vitest';
import type { ConnectionRecord } from '../../lambdas/core/connection.ts';
import { isGatewayError } from '../../lambdas/core/errors.ts';
import {
  type ConnectionRateConfig,
  DEFAULT_CONNECTION_RATE,
  type FrameBucket,
  refuseFrame,
  sharedWindow,
  takeFrame,
} from '../../lambdas/core/frame-rate.ts';
import { ConnectionRate, POLICY_VIOLATION, rateLimited } from '../../lambdas/usecases/connection-rate.ts';
import { DEFAULT_CONFIG, parseConfig } from '../../lib/config.ts';

const limits = { framesPerSecond: 10, burst: 20, closeAfterRefused: 5 };

/** Takes `n` frames at `now`, returning the verdicts and the last bucket. */
function take(n: number, now: number, bucket?: FrameBucket, l = limits) {
  const verdicts: string[] = [];
  let b = bucket;
  for (let i = 0; i < n; i++) {
    const r = takeFrame(b, l, now);
    verdicts.push(r.verdict);
    b = r.bucket;
  }
  return { verdicts, bucket: b as FrameBucket };
}

describe('the per-connection frame rate (core/frame-rate)', () => {
  it('admits a burst at once, then refuses until the bucket refills', () => {
    const first = take(21, 0);
    expect(first.verdicts.filter((v) => v === 'admit')).toHaveLength(20);
    expect(first.verdicts[20]).toBe('refuse');
    // 10 frames per second: half a second later five more.
    const later = take(6, 500, first.bucket);
    expect(later.verdicts).toEqual(['admit', 'admit', 'admit', 'admit', 'admit', 'refuse']);
  });

  it('never fills beyond the burst, however long the connection was idle', () => {
    const idle = take(20, 0).bucket;
    expect(take(21, 3_600_000, idle).verdicts.filter((v) => v === 'admit')).toHaveLength(20);
  });

  it('closes a connection on the refused frame that reaches closeAfterRefused, once', () => {
    const { verdicts } = take(30, 0);
    expect(verdicts.slice(20)).toEqual([
      'refuse',
      'refuse',
      'refuse',
      'refuse',
      'close',
      'refuse',
      'refuse',
      'refuse',
      'refuse',
      'refuse',
    ]);
  });

  it('an admitted frame resets the refusals in a row; closeAfterRefused 0 never closes', () => {
    let { bucket } = take(24, 0); // 4 refused in a row
    bucket = take(1, 100, bucket).bucket; // one token back: admitted
    expect(bucket.refusedInRow).toBe(0);
    expect(take(200, 0, undefined, { ...limits, closeAfterRefused: 0 }).verdicts).not.toContain('close');
  });

  it('judges frames by when they were received: a backlog does not hide a flood, late ones do not refill twice', () => {
    const { bucket } = take(20, 1_000);
    // An older frame handled late: no time passed for the bucket.
    expect(takeFrame(bucket, limits, 900)).toMatchObject({ verdict: 'refuse', bucket: { at: 1_000 } });
  });

  it('a frame the shared counter refuses counts as refused in a row', () => {
    expect(refuseFrame({ tokens: 3, at: 0, refusedInRow: 3 }, limits)).toEqual({
      verdict: 'refuse',
      bucket: { tokens: 3, at: 0, refusedInRow: 4 },
    });
    expect(refuseFrame({ tokens: 3, at: 0, refusedInRow: 4 }, limits).verdict).toBe('close');
  });

  it('shared windows are calendar seconds', () => {
    expect(sharedWindow(200, 12_345)).toEqual({ key: 12, limit: 200, endsAt: 13_000 });
  });
});

const record = (id = 'conn-1'): ConnectionRecord =>
  ({ connectionId: id, app: { appId: 'app-1', appName: 'a' } }) as ConnectionRecord;

function rateWith(config: Partial<ConnectionRateConfig>, shared?: (subject: string) => boolean) {
  const closed: { id: string; frame: string }[] = [];
  const taken: string[] = [];
  let now = 0;
  const rate = new ConnectionRate(
    { ...DEFAULT_CONNECTION_RATE, ...config },
    shared
      ? {
          take: async (subject) => {
            taken.push(subject);
            return shared(subject);
          },
        }
      : undefined,
    { close: async (id, frame) => void closed.push({ id, frame }) },
    () => now,
  );
  return { rate, closed, taken, at: (ms: number) => (now = ms) };
}

async function outcome(p: Promise<void>): Promise<string> {
  try {
    await p;
    return 'admitted';
  } catch (error) {
    return isGatewayError(error) ? `${error.status} ${error.code}` : String(error);
  }
}

describe('ConnectionRate (usecases/connection-rate)', () => {
  it('refuses frames over the limit with 429 too_many_requests, per connection', async () => {
    const { rate } = rateWith({ framesPerSecond: 1, burst: 2, closeAfterRefused: 0 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await outcome(rate.admit(record(), 0)));
    answers.push(await outcome(rate.admit(record('conn-2'), 0)));
    expect(answers).toEqual(['admitted', 'admitted', '429 too_many_requests', 'admitted']);
  });

  it('closes a flooding connection once, with a policy_violation frame naming 1008', async () => {
    const { rate, closed } = rateWith({ framesPerSecond: 1, burst: 1, closeAfterRefused: 3 });
    for (let i = 0; i < 10; i++) await outcome(rate.admit(record(), 0));
    expect(closed).toHaveLength(1);
    expect(JSON.parse(closed[0]?.frame ?? '{}')).toMatchObject({
      type: 'error',
      error: 'policy_violation',
      closeCode: POLICY_VIOLATION,
    });
  });

  it('exact: the shared counter may refuse what this environment admits, per connection and application', async () => {
    const { rate, taken } = rateWith({ applicationFramesPerSecond: 5, closeAfterRefused: 0 }, (s) =>
      s.startsWith('C#'),
    );
    expect(await outcome(rate.admit(record(), 0))).toBe('429 too_many_requests');
    expect(taken).toEqual(['C#conn-1', 'A#app-1']);
    const off = rateWith({ exact: false }, () => false);
    expect(await outcome(off.rate.admit(record(), 0))).toBe('admitted');
    expect(off.taken).toEqual([]);
  });

  it('frames the shared counter refuses add up to a close, though this environment admits them', async () => {
    const { rate, closed } = rateWith({ closeAfterRefused: 3 }, () => false);
    for (let i = 0; i < 3; i++) await outcome(rate.admit(record(), 0));
    expect(closed).toHaveLength(1);
  });

  it('uses the time API Gateway received the frame, not the time it is handled', async () => {
    const { rate, at } = rateWith({ framesPerSecond: 1, burst: 1, closeAfterRefused: 0, exact: false });
    at(60_000); // handled a minute later: a bucket on the handler's clock would have refilled
    expect(await outcome(rate.admit(record(), 0, 1_000))).toBe('admitted');
    expect(await outcome(rate.admit(record(), 0, 1_001))).toBe('429 too_many_requests');
  });

  it('rateLimited puts the limit in front of every route', async () => {
    const served: string[] = [];
    const routes = rateLimited(
      {
        admit: async (r: ConnectionRecord) =>
          void (r.connectionId === 'bad' && Promise.reject(new Error('x'))),
      },
      {
        a: async (r: { record: ConnectionRecord; deadline: number }) =>
          void served.push(r.record.connectionId),
      },
    );
    await routes.a({ record: record('ok'), deadline: 0 });
    expect(served).toEqual(['ok']);
    const refusing = rateLimited(
      {
        admit: async () => {
          throw new Error('refused');
        },
      },
      { a: async () => void served.push('never') },
    );
    await expect(refusing.a({ record: record(), deadline: 0 })).rejects.toThrow('refused');
    expect(served).toEqual(['ok']);
  });
});

describe('connectionRate and httpThrottle settings', () => {
  it('default to the documented limits', () => {
    expect(DEFAULT_CONFIG.connectionRate).toEqual(DEFAULT_CONNECTION_RATE);
    expect(DEFAULT_CONFIG.httpThrottle).toEqual({
      rateLimit: 100,
      burstLimit: 50,
      publicDocuments: { rateLimit: 1000, burstLimit: 500 },
    });
  });

  it('refuse a burst below the steady rate', () => {
    expect(() => parseConfig({ connectionRate: { framesPerSecond: 50, burst: 10 } })).toThrow(
      /connectionRate\.burst burst must be at least framesPerSecond/,
    );
  });
});
