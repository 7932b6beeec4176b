import { mkdtempSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../bin/streamgate.ts';
import { isRuntimeProvided } from '../../local/lambda/runtime-modules.mjs';

/** Every module a bundle requires or imports from outside itself (esbuild reads the bundle back). */
async function externalRequires(file: string): Promise<string[]> {
  const result = await build({
    entryPoints: [file],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    logLevel: 'silent',
    plugins: [
      {
        name: 'everything-external',
        setup(b) {
          b.onResolve({ filter: /.*/ }, (args) =>
            args.kind === 'entry-point' ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
  const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
  return [...new Set(imports.filter((i) => i.external).map((i) => i.path))].sort();
}

let bundles: { service: string; file: string }[];

beforeAll(async () => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'streamgate-bundles-'));
  // Kafka on (as the local stack and the parity kit deploy it): the fan-out and topic admin bundles too.
  const { stack } = await buildApp(new App({ outdir, context: { kafkaCluster: 'serverless' } }));
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  bundles = Object.entries(functions).flatMap(([id, fn]) => {
    const key: unknown = fn.Properties.Code?.S3Key;
    if (typeof key !== 'string') return []; // inline code (CDK's own custom resources)
    return [
      {
        service: fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME ?? id,
        file: path.join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.js'),
      },
    ];
  });
});

describe('the synthesized bundles', () => {
  it('are there: every handler of the stack', () => {
    expect(bundles.map((b) => b.service)).toEqual(
      expect.arrayContaining([
        'connect',
        'message',
        'disconnect',
        'fanout',
        'topic-admin',
        'token',
        'management',
      ]),
    );
  });

  it('require from outside themselves only what the Node.js 22 Lambda runtime provides', async () => {
    for (const { service, file } of bundles) {
      const missing = (await externalRequires(file)).filter((m) => !isRuntimeProvided(m));
      expect(missing, `${service} needs modules the runtime does not provide`).toEqual([]);
    }
  });

  it('take nothing but Node.js built-ins from the runtime: the AWS SDK and @smithy are bundled', async () => {
    for (const { service, file } of bundles) {
      const fromRuntime = (await externalRequires(file)).filter((m) => !isBuiltin(m));
      expect(fromRuntime, service).toEqual([]);
    }
  });
});
