#!/usr/bin/env node
/**
 * Writes `streamgate.config.schema.json`, the JSON Schema of `streamgate.config.json`, from the
 * schema in lib/config.ts (`npx tsx bin/config-schema.ts`), formatted as biome formats JSON. A unit
 * test fails while the committed file holds another schema than this writes.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA_FILE, configJsonSchema } from '../lib/config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = path.join(root, CONFIG_SCHEMA_FILE);
  writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  execFileSync('npx', ['biome', 'format', '--write', file], { cwd: root, stdio: 'inherit' });
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
