/**
 * How fast one connection may send frames (issue 11, class 4: one client cannot starve everyone).
 * A token bucket per connection (API Gateway's own model for stage throttling): `burst` frames at
 * once, refilled at `framesPerSecond`. A connection that goes on sending while refused — more than
 * `closeAfterRefused` refused frames in a row, none admitted between — is abusive and is closed.
 * Pure: the state is the caller's (one per connection, per execution environment).
 */

/** The per-connection limits (`connectionRate` of streamgate.config.json). */
export interface FrameRateLimits {
  /** Frames per second, steady (refill rate of the bucket). */
  framesPerSecond: number;
  /** Frames at once (size of the bucket); at least `framesPerSecond`. */
  burst: number;
  /** Refused frames in a row after which the connection is closed (policy violation); 0: never. */
  closeAfterRefused: number;
}

/** `connectionRate` of streamgate.config.json, as the Message function reads it (CONNECTION_RATE). */
export interface ConnectionRateConfig extends FrameRateLimits {
  /** Frames per second one application may send over all its connections; 0: no such limit. */
  applicationFramesPerSecond: number;
  /** Count in DynamoDB too (exact across execution environments); false: per execution environment only. */
  exact: boolean;
}

/** `connectionRate`'s defaults (streamgate.config.json documents them). */
export const DEFAULT_CONNECTION_RATE: ConnectionRateConfig = {
  framesPerSecond: 100,
  burst: 200,
  closeAfterRefused: 50,
  applicationFramesPerSecond: 0,
  exact: true,
};

/** One connection's bucket: tokens left at `at` (epoch ms), and frames refused in a row since. */
export interface FrameBucket {
  tokens: number;
  at: number;
  refusedInRow: number;
}

/** `admit`: serve the frame; `refuse`: answer it with a rate-limit error; `close`: end the connection. */
export type FrameVerdict = 'admit' | 'refuse' | 'close';

/**
 * Takes one frame from a connection's bucket at `now` (epoch ms: when the frame was received). A
 * missing bucket is a full one.
 * Returns the verdict and the bucket to keep. `close` is returned once, on the refused frame that
 * reaches `closeAfterRefused`; later frames of the same connection are refused.
 */
export function takeFrame(
  bucket: FrameBucket | undefined,
  limits: FrameRateLimits,
  now: number,
): { verdict: FrameVerdict; bucket: FrameBucket } {
  const previous = bucket ?? { tokens: limits.burst, at: now, refusedInRow: 0 };
  // Frames may be taken out of order (concurrent invocations): time never runs back in a bucket.
  const at = Math.max(previous.at, now);
  const elapsedMs = at - previous.at;
  const tokens = Math.min(limits.burst, previous.tokens + (elapsedMs / 1000) * limits.framesPerSecond);
  if (tokens >= 1) return { verdict: 'admit', bucket: { tokens: tokens - 1, at, refusedInRow: 0 } };
  return refuseFrame({ tokens, at, refusedInRow: previous.refusedInRow }, limits);
}

/**
 * A frame the bucket admitted but a shared (cross-environment) counter refused: it counts as
 * refused in a row like any other, with the same `close` rule.
 */
export function refuseFrame(
  bucket: FrameBucket,
  limits: FrameRateLimits,
): { verdict: Exclude<FrameVerdict, 'admit'>; bucket: FrameBucket } {
  const refusedInRow = bucket.refusedInRow + 1;
  const verdict =
    limits.closeAfterRefused > 0 && refusedInRow === limits.closeAfterRefused ? 'close' : 'refuse';
  return { verdict, bucket: { ...bucket, refusedInRow } };
}

/**
 * The one-second window a shared counter uses: at most `limit` frames in any calendar second,
 * across every execution environment. Returns the window's key (epoch seconds), its limit and
 * when it ends (epoch ms).
 */
export function sharedWindow(limit: number, now: number): { key: number; limit: number; endsAt: number } {
  const key = Math.floor(now / 1000);
  return { key, limit, endsAt: (key + 1) * 1000 };
}
