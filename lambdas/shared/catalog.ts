import { readFileSync } from 'node:fs';
import type { Catalog } from '../core/catalog.ts';

/**
 * The compiled API catalog. The house construct inlines it into each bundle at synth time
 * (esbuild `define`), so a cold start parses nothing. Running a handler unbundled (unit tests,
 * `tsx`) reads the file named by STREAMGATE_CATALOG_FILE instead.
 */
declare const __STREAMGATE_CATALOG__: Catalog | undefined;

function loadCatalog(): Catalog {
  if (typeof __STREAMGATE_CATALOG__ !== 'undefined') return __STREAMGATE_CATALOG__;
  const file = process.env.STREAMGATE_CATALOG_FILE;
  if (!file) {
    throw new Error(
      'no API catalog: the bundle was built without one and STREAMGATE_CATALOG_FILE is not set',
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as Catalog;
}

export const catalog: Catalog = loadCatalog();
