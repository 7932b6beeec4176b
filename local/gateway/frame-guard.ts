/**
 * Watches the bytes a client sends and reports a data frame larger than API Gateway allows
 * (32 KB per frame; `ws` itself enforces the 128 KB message limit). It parses only frame headers
 * and skips payloads, so it costs almost nothing per byte.
 */
export const MAX_FRAME_BYTES = 32 * 1024;
export const MAX_MESSAGE_BYTES = 128 * 1024;

export class FrameGuard {
  private header: number[] = [];
  private remaining = 0;

  constructor(
    private readonly onOversized: (size: number) => void,
    private readonly maxFrame = MAX_FRAME_BYTES,
  ) {}

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        continue;
      }
      this.header.push(chunk[i] as number);
      i++;
      const length = this.headerLength();
      if (length === undefined || this.header.length < length) continue;
      const payload = this.payloadLength();
      this.header = [];
      if (payload > this.maxFrame) {
        this.onOversized(payload);
        this.remaining = Number.POSITIVE_INFINITY; // ignore the rest: the connection is closing
        return;
      }
      this.remaining = payload;
    }
  }

  /** Bytes in this frame's header, once the first two are known. */
  private headerLength(): number | undefined {
    if (this.header.length < 2) return undefined;
    const second = this.header[1] as number;
    const masked = (second & 0x80) !== 0;
    const len7 = second & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + extended + (masked ? 4 : 0);
  }

  private payloadLength(): number {
    const len7 = (this.header[1] as number) & 0x7f;
    if (len7 < 126) return len7;
    if (len7 === 126) return ((this.header[2] as number) << 8) | (this.header[3] as number);
    let value = 0;
    for (let b = 2; b < 10; b++) value = value * 256 + (this.header[b] as number);
    return value;
  }
}
