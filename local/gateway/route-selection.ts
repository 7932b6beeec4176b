/**
 * API Gateway's route selection expressions, evaluated on a message body as AWS does:
 * `$request.body.action`, `${request.body.a.b}` interpolated into literal text, `\$` for a literal
 * dollar. A body that is not JSON, or an expression that does not evaluate to a string or number,
 * selects no route (the message goes to `$default`). Never applied to `$connect`/`$disconnect`.
 */
type Part = { literal: string } | { path: string[] };

export function compileSelectionExpression(expression: string): (body: string) => string | undefined {
  const parts = parseExpression(expression);
  return (body: string) => {
    let parsed: unknown;
    let parsedOk = false;
    let out = '';
    for (const part of parts) {
      if ('literal' in part) {
        out += part.literal;
        continue;
      }
      if (!parsedOk) {
        try {
          parsed = JSON.parse(body);
          parsedOk = true;
        } catch {
          return undefined;
        }
      }
      const value = evaluate(parsed, part.path);
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
        return undefined;
      out += String(value);
    }
    return out;
  };
}

function parseExpression(expression: string): Part[] {
  const parts: Part[] = [];
  let literal = '';
  let i = 0;
  const pushLiteral = () => {
    if (literal) parts.push({ literal });
    literal = '';
  };
  while (i < expression.length) {
    const c = expression[i] as string;
    if (c === '\\' && expression[i + 1] === '$') {
      literal += '$';
      i += 2;
    } else if (expression.startsWith('${', i)) {
      const end = expression.indexOf('}', i);
      if (end < 0) throw new Error(`unterminated \${ in selection expression ${expression}`);
      pushLiteral();
      parts.push({ path: requestBodyPath(expression.slice(i + 2, end), expression) });
      i = end + 1;
    } else if (expression.startsWith('$request.body', i)) {
      const match = /^\$(request\.body(?:\.[A-Za-z0-9_-]+|\[\d+\])*)/.exec(
        expression.slice(i),
      ) as RegExpExecArray;
      pushLiteral();
      parts.push({ path: requestBodyPath(match[1] as string, expression) });
      i += match[0].length;
    } else {
      literal += c;
      i++;
    }
  }
  pushLiteral();
  return parts;
}

function requestBodyPath(reference: string, expression: string): string[] {
  if (
    reference !== 'request.body' &&
    !reference.startsWith('request.body.') &&
    !reference.startsWith('request.body[')
  ) {
    throw new Error(
      `selection expression ${expression}: only request.body is available to WebSocket route selection`,
    );
  }
  return reference
    .slice('request.body'.length)
    .split(/\.|\[|\]/)
    .filter((segment) => segment.length > 0);
}

function evaluate(value: unknown, path: string[]): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
