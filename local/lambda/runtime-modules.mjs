// Which modules the Lambda Node.js runtime provides to a function's code (the declared list in
// runtime-modules.json, with its sources). Plain JavaScript: the worker threads load it without the
// TypeScript loader; runtime-modules.d.mts types it for the rest of the project.
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';

/** The declared list (runtime-modules.json). */
export const RUNTIME_MODULES = JSON.parse(
  readFileSync(new URL('./runtime-modules.json', import.meta.url), 'utf8'),
);

/** `@scope/name` or `name` of a bare specifier (`@aws-sdk/client-sqs/dist-cjs/x` → `@aws-sdk/client-sqs`). */
export function packageNameOf(specifier) {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

const patterns = RUNTIME_MODULES.packages.map(
  (p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`),
);

/** Whether the runtime gives `specifier` to a function without the function shipping it. */
export function isRuntimeProvided(specifier) {
  if (RUNTIME_MODULES.builtins && isBuiltin(specifier)) return true;
  if (specifier.startsWith('.') || specifier.startsWith('/')) return false;
  const name = packageNameOf(specifier);
  return patterns.some((pattern) => pattern.test(name));
}
