import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';

/** One thing wrong with a definition: where (file, JSON path, line) and what. */
export interface DefinitionProblem {
  file: string;
  /** JSONPath of the offending node, e.g. `$.channels['/rooms/{roomID}'].publish['x-scopes']`. */
  path: string;
  line?: number;
  message: string;
}

export class DefinitionError extends Error {
  readonly problems: DefinitionProblem[];
  constructor(problems: DefinitionProblem[]) {
    super(formatProblems(problems));
    this.name = 'DefinitionError';
    this.problems = problems;
  }
}

export function formatProblem(problem: DefinitionProblem): string {
  const where = problem.line ? `${problem.file}:${problem.line}` : problem.file;
  return `${where} ${problem.path}: ${problem.message}`;
}

export function formatProblems(problems: DefinitionProblem[]): string {
  const noun = problems.length === 1 ? 'problem' : 'problems';
  return `API definitions have ${problems.length} ${noun}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Segments → JSONPath: `['channels', '/rooms/{id}', 'publish']` → `$.channels['/rooms/{id}'].publish`. */
export function toJsonPath(segments: readonly (string | number)[]): string {
  return segments.reduce<string>((path, segment) => {
    if (typeof segment === 'number') return `${path}[${segment}]`;
    return IDENTIFIER.test(segment) ? `${path}.${segment}` : `${path}['${segment.replace(/'/g, "\\'")}']`;
  }, '$');
}

/** JSON pointer (`/channels/~1rooms~1{id}/publish`) → segments. */
export function pointerToSegments(pointer: string): string[] {
  if (!pointer || pointer === '/') return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * Finds line numbers of nodes in a YAML (or JSON) source, so a problem can point at its line.
 * Falls back to the nearest ancestor that exists.
 */
export class SourceLocator {
  private readonly doc;
  private readonly lines = new LineCounter();

  constructor(source: string) {
    this.doc = parseDocument(source, { lineCounter: this.lines, keepSourceTokens: false });
  }

  lineOf(segments: readonly (string | number)[]): number | undefined {
    for (let depth = segments.length; depth >= 0; depth--) {
      const node = this.nodeAt(segments.slice(0, depth));
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      if (range) return this.lines.linePos(range[0]).line;
    }
    return undefined;
  }

  private nodeAt(segments: readonly (string | number)[]): unknown {
    let node: unknown = this.doc.contents;
    for (const segment of segments) {
      if (isMap(node)) {
        const pair = node.items.find((item) => {
          const key = item.key as { value?: unknown } | null;
          return key?.value === segment || String(key?.value) === String(segment);
        });
        if (!pair) return undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
      } else {
        return undefined;
      }
    }
    return node;
  }
}
