import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { InvocationError, LambdaRuntime } from '../../local/lambda/runtime.ts';
import { isRuntimeProvided, packageNameOf } from '../../local/lambda/runtime-modules.mjs';
import { LogSink } from '../../local/log.ts';
import type { LocalFunction } from '../../local/template.ts';

const BUNDLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/lambda-bundles');

describe('the declared Lambda runtime modules', () => {
  it('are the Node.js built-ins and the AWS SDK v3 service clients', () => {
    for (const provided of ['node:crypto', 'crypto', 'node:worker_threads', '@aws-sdk/client-sqs'])
      expect(isRuntimeProvided(provided), provided).toBe(true);
    expect(isRuntimeProvided('@aws-sdk/client-dynamodb/dist-cjs/index.js')).toBe(true);
  });

  it('leave out what the runtime does not promise: @smithy, SDK libraries, any other package, files', () => {
    for (const missing of [
      '@smithy/node-http-handler',
      '@smithy/signature-v4',
      '@aws-sdk/lib-dynamodb',
      '@aws-sdk/credential-providers',
      'kafkajs',
      'jose',
      './index.js',
      '/var/task/x.js',
    ])
      expect(isRuntimeProvided(missing), missing).toBe(false);
  });

  it('name the package of a specifier', () => {
    expect(packageNameOf('@smithy/types/dist-cjs/x')).toBe('@smithy/types');
    expect(packageNameOf('jose/jwks')).toBe('jose');
  });
});

describe('the local Lambda runtime loads a bundle with only those modules', () => {
  const fn = (dir: string): LocalFunction => ({
    logicalId: dir,
    name: `test-${dir}`,
    arn: `arn:aws:lambda:us-east-1:000000000000:function:test-${dir}`,
    codeDir: path.join(BUNDLES, dir),
    handler: 'index.handler',
    runtime: 'nodejs22.x',
    timeoutSeconds: 20,
    memoryMb: 256,
    environment: {},
  });
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const lambda = new LambdaRuntime([fn('needs-undeclared'), fn('runtime-only')], {
    baseEnvironment: {},
    maxConcurrency: 1,
    log: new LogSink({ out }),
  });
  afterAll(() => lambda.close());

  it('refuses a package the bundle left out, as Lambda does: Runtime.ImportModuleError naming it', async () => {
    // The project's node_modules has @smithy/node-http-handler: only the declared list keeps it out.
    const failure = await lambda.invoke('needs-undeclared', {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvocationError);
    expect(failure).toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      message: expect.stringMatching(
        /^Error: Cannot find module '@smithy\/node-http-handler'\nRequire stack:/,
      ),
    });
    expect(lines.join('')).toMatch(/Uncaught Exception .*Runtime\.ImportModuleError/);
  });

  it('loads a bundle that needs only built-ins, SDK v3 clients and its own files', async () => {
    await expect(lambda.invoke('runtime-only', {})).resolves.toEqual({
      answer: 42,
      client: 'function',
      hash: 64,
    });
  });
});
