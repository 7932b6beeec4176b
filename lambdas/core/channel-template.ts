/**
 * Channel path templates: `/rooms/{roomID}`, `/loc-train-qnt-{trainID}`, `/notifications`, `/*`.
 * A `{name}` matches within one path segment; a trailing `*` segment matches the rest of the path
 * (WSO2's default topic `/*`).
 */

export interface CompiledTemplate {
  name: string;
  parameters: string[];
  /** Higher wins when several templates match one path: literal characters count, wildcards do not. */
  specificity: number;
  match(path: string): Record<string, string> | undefined;
  fill(values: Record<string, string>): string;
}

const PARAMETER = /\{([A-Za-z_][A-Za-z0-9_.-]*)\}/g;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The parameter names a template declares, in order. */
export function templateParameters(template: string): string[] {
  return [...template.matchAll(PARAMETER)].map((m) => m[1] as string);
}

export function compileTemplate(template: string): CompiledTemplate {
  const normalized = normalizePath(template);
  const segments = splitSegments(normalized);
  const parameters: string[] = [];
  let specificity = 0;
  let wildcardTail = false;
  const parts: string[] = [];
  segments.forEach((segment, index) => {
    if (segment === '*' && index === segments.length - 1) {
      wildcardTail = true;
      return;
    }
    let pattern = '';
    let last = 0;
    for (const m of segment.matchAll(PARAMETER)) {
      const literal = segment.slice(last, m.index);
      pattern += escapeRegExp(literal);
      specificity += literal.length;
      pattern += '([^/]+)';
      parameters.push(m[1] as string);
      last = (m.index ?? 0) + m[0].length;
    }
    const tail = segment.slice(last);
    pattern += escapeRegExp(tail);
    specificity += tail.length + 1;
    parts.push(pattern);
  });
  const body = parts.length ? `/${parts.join('/')}` : '';
  const regex = wildcardTail ? new RegExp(`^${body}(/.*)?$`) : new RegExp(`^${body || '/'}$`);

  return {
    name: template,
    parameters,
    specificity,
    match(path: string) {
      const m = regex.exec(normalizePath(path));
      if (!m) return undefined;
      const values: Record<string, string> = {};
      parameters.forEach((parameter, i) => {
        values[parameter] = m[i + 1] as string;
      });
      return values;
    },
    fill(values: Record<string, string>) {
      return normalized.replace(PARAMETER, (_, parameter: string) => {
        const value = values[parameter];
        if (value === undefined) throw new Error(`no value for parameter ${parameter} of ${template}`);
        return value;
      });
    },
  };
}

/** `/a//b/` → `/a/b`; `` → `/`. */
export function normalizePath(path: string): string {
  const segments = splitSegments(path);
  return segments.length ? `/${segments.join('/')}` : '/';
}

export function splitSegments(path: string): string[] {
  return path.split('/').filter((segment) => segment.length > 0);
}

/** A parameter value is usable in a topic path: one non-empty segment without control characters. */
export function isValidParameterValue(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  return value.length > 0 && value.length <= 256 && !/[/\u0000-\u001f\u007f]/.test(value);
}
