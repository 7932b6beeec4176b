import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider } from '@smithy/types';
import { NodeSha256 } from './node-sha256.ts';

/**
 * PostToConnection without the SDK's per-call machinery: one SigV4-signed POST over keep-alive
 * sockets. The fan-out makes thousands of these per invocation, and profiling showed the SDK's
 * middleware stack (endpoint resolution, schema serde, retry bookkeeping, user agent) costing far
 * more CPU per call than the request itself. Answers the HTTP status, or 0 when the request failed
 * before one came back (network error, timeout).
 */
export class FramePoster {
  private readonly url: URL;
  private readonly signer: SignatureV4;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;

  constructor(
    endpoint: string,
    region: string,
    credentials: Provider<AwsCredentialIdentity>,
    maxSockets: number,
    private readonly timeoutMs = 5_000,
  ) {
    this.url = new URL(endpoint);
    const https = this.url.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets })
      : new HttpAgent({ keepAlive: true, maxSockets });
    this.send = (https ? httpsRequest : httpRequest) as typeof httpRequest;
    this.signer = new SignatureV4({ credentials, region, service: 'execute-api', sha256: NodeSha256 });
  }

  async post(connectionId: string, data: Uint8Array): Promise<number> {
    const path = `${this.url.pathname.replace(/\/$/, '')}/@connections/${encodeURIComponent(connectionId)}`;
    const signed = await this.signer.sign({
      method: 'POST',
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      ...(this.url.port ? { port: Number(this.url.port) } : {}),
      path,
      headers: { host: this.url.host, 'content-type': 'application/octet-stream' },
      body: data,
    });
    return new Promise((resolve) => {
      const req = this.send(
        {
          method: 'POST',
          hostname: this.url.hostname,
          port: this.url.port || undefined,
          path,
          agent: this.agent,
          headers: { ...signed.headers, 'content-length': String(data.byteLength) },
          timeout: this.timeoutMs,
        },
        (res: IncomingMessage) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', () => resolve(0));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(0));
      req.end(data);
    });
  }
}
