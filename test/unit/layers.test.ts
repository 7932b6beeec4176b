import { createRequire } from 'node:module';
import path from 'node:path';
import { cruise, type IConfiguration } from 'dependency-cruiser';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const config = createRequire(import.meta.url)(path.join(root, '.dependency-cruiser.cjs')) as IConfiguration;

describe('the layer rules (.dependency-cruiser.cjs)', () => {
  it('catch wrong-way imports: core doing I/O or importing adapters, an adapter importing a handler', async () => {
    const fixtures = path.join(root, 'test/fixtures/layers');
    const { output } = await cruise(['lambdas'], {
      ...config.options,
      ruleSet: { forbidden: config.forbidden ?? [] },
      validate: true,
      baseDir: fixtures,
      tsConfig: { fileName: path.join(root, 'tsconfig.json') },
    });
    const broken = (typeof output === 'string' ? [] : output.summary.violations).map(
      (violation) =>
        `${violation.rule.name}: ${violation.from} → ${violation.to.replace(/^.*node_modules\//, '')}`,
    );
    expect(broken.sort()).toEqual([
      'adapters-must-not-import-handlers-shared-or-usecases: lambdas/adapters/store.ts → lambdas/message/index.ts',
      'core-must-not-do-io: lambdas/core/rule.ts → kafkajs/index.js',
      'core-must-not-import-outer-layers: lambdas/core/rule.ts → lambdas/adapters/store.ts',
    ]);
  });
});
