/**
 * The part of Siddhi's query language that streamgate runs as a channel transform — enough for the
 * Streaming Integrator apps of the seeds:
 *
 *   define stream SweetProductionStream (name string, amount double);
 *   from SweetProductionStream[amount > 100]#window.timeBatch(1 min)
 *   select name, avg(amount) as avgAmount, count() as total
 *   group by name
 *   insert into SweetStats;
 *
 * Filters compare attributes and literals (== != > >= < <=, and, or, not, parentheses); select
 * items are attributes, literals, arithmetic (+ - * /) and the aggregates count(), sum(), avg(),
 * min(), max(); windows are #window.time(<d>) (sliding) and #window.timeBatch(<d>) (tumbling), or
 * none (since the stream began). Parsed once, at synth; the result is plain JSON in the catalog.
 */

export type AttributeType = 'string' | 'int' | 'long' | 'float' | 'double' | 'bool';
export const ATTRIBUTE_TYPES: readonly AttributeType[] = ['string', 'int', 'long', 'float', 'double', 'bool'];

export type Expr =
  | { kind: 'attr'; name: string }
  | { kind: 'literal'; value: string | number | boolean }
  | {
      kind: 'binary';
      op: '+' | '-' | '*' | '/' | '==' | '!=' | '>' | '>=' | '<' | '<=' | 'and' | 'or';
      left: Expr;
      right: Expr;
    }
  | { kind: 'not'; operand: Expr }
  | { kind: 'aggregate'; fn: AggregateFn; attr?: string };

export type AggregateFn = 'count' | 'sum' | 'avg' | 'min' | 'max';

export interface SelectItem {
  name: string;
  expr: Expr;
}

export interface TransformDef {
  /** How Kafka records are read (Siddhi's default mappings). */
  input: 'json' | 'xml' | 'text';
  inputStream: { name: string; attributes: { name: string; type: AttributeType }[] };
  outputStream: string;
  filter?: Expr;
  select: SelectItem[];
  groupBy?: string;
  window?: { type: 'sliding' | 'tumbling'; ms: number };
  /** The query aggregates: state is kept (in the stream state table). */
  stateful: boolean;
}

export class SiddhiError extends Error {
  override name = 'SiddhiError';
}

type Token = { type: 'word' | 'number' | 'string' | 'symbol'; value: string; line: number };

const SYMBOLS = [
  '==',
  '!=',
  '>=',
  '<=',
  '>',
  '<',
  '(',
  ')',
  '[',
  ']',
  ',',
  ';',
  '#',
  '.',
  '+',
  '-',
  '*',
  '/',
];
const UNITS: Record<string, number> = {
  ms: 1,
  millisec: 1,
  millisecond: 1,
  milliseconds: 1,
  sec: 1_000,
  second: 1_000,
  seconds: 1_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (c === '\n') {
      line++;
      i++;
    } else if (/\s/.test(c)) {
      i++;
    } else if (source.startsWith('--', i)) {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (c === "'" || c === '"') {
      const end = source.indexOf(c, i + 1);
      if (end < 0) throw new SiddhiError(`line ${line}: unterminated string`);
      tokens.push({ type: 'string', value: source.slice(i + 1, end), line });
      i = end + 1;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?[lLfFdD]?/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'number', value: m[0].replace(/[lLfFdD]$/, ''), line });
      i += m[0].length;
    } else if (/[A-Za-z_@]/.test(c)) {
      const m = /^[A-Za-z_@][A-Za-z0-9_]*/.exec(source.slice(i)) as RegExpExecArray;
      tokens.push({ type: 'word', value: m[0], line });
      i += m[0].length;
    } else {
      const symbol = SYMBOLS.find((s) => source.startsWith(s, i));
      if (!symbol) throw new SiddhiError(`line ${line}: unexpected character '${c}'`);
      tokens.push({ type: 'symbol', value: symbol, line });
      i += symbol.length;
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  private fail(expected: string): never {
    const token = this.peek();
    throw new SiddhiError(
      token
        ? `line ${token.line}: expected ${expected} but found '${token.value}'`
        : `expected ${expected} at the end`,
    );
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.type === 'word' && t.value.toLowerCase() === word;
  }

  private isSymbol(symbol: string): boolean {
    const t = this.peek();
    return t?.type === 'symbol' && t.value === symbol;
  }

  word(expected?: string): string {
    const t = this.peek();
    if (t?.type !== 'word' || (expected && t.value.toLowerCase() !== expected))
      this.fail(expected ?? 'a name');
    this.i++;
    return t.value;
  }

  /** Consumes the symbol if it comes next. */
  private accept(symbol: string): boolean {
    if (!this.isSymbol(symbol)) return false;
    this.i++;
    return true;
  }

  symbol(symbol: string): void {
    if (!this.isSymbol(symbol)) this.fail(`'${symbol}'`);
    this.i++;
  }

  atEnd(): boolean {
    return this.i >= this.tokens.length;
  }

  /** `define stream Name (a type, …);` */
  defineStream(): TransformDef['inputStream'] {
    this.word('define');
    this.word('stream');
    const name = this.word();
    this.symbol('(');
    const attributes: TransformDef['inputStream']['attributes'] = [];
    do {
      const attribute = this.word();
      const type = this.word().toLowerCase();
      if (!ATTRIBUTE_TYPES.includes(type as AttributeType)) {
        throw new SiddhiError(
          `attribute ${attribute} has type ${type}; types are ${ATTRIBUTE_TYPES.join(', ')}`,
        );
      }
      attributes.push({ name: attribute, type: type as AttributeType });
    } while (this.accept(','));
    this.symbol(')');
    if (this.isSymbol(';')) this.symbol(';');
    return { name, attributes };
  }

  query(): Omit<TransformDef, 'input' | 'inputStream' | 'stateful'> & { from: string } {
    while (this.peek()?.value === '@') this.fail('a query (annotations are not supported)');
    this.word('from');
    const from = this.word();
    let filter: Expr | undefined;
    if (this.isSymbol('[')) {
      this.symbol('[');
      filter = this.expression();
      this.symbol(']');
    }
    let window: TransformDef['window'];
    if (this.isSymbol('#')) {
      this.symbol('#');
      this.word('window');
      this.symbol('.');
      const kind = this.word();
      const type = kind === 'time' ? 'sliding' : kind === 'timeBatch' ? 'tumbling' : undefined;
      if (!type)
        throw new SiddhiError(`window.${kind} is not supported; use window.time(…) or window.timeBatch(…)`);
      this.symbol('(');
      const amount = this.peek();
      if (amount?.type !== 'number') this.fail('a duration such as 1 min');
      this.i++;
      const unit = this.word().toLowerCase();
      const factor = UNITS[unit];
      if (!factor) throw new SiddhiError(`unknown time unit ${unit}`);
      this.symbol(')');
      window = { type, ms: Number(amount.value) * factor };
      if (window.ms < 1_000) throw new SiddhiError('a window lasts at least 1 sec');
    }
    this.word('select');
    const select: SelectItem[] = [];
    do {
      const expr = this.expression();
      let name: string;
      if (this.isWord('as')) {
        this.word('as');
        name = this.word();
      } else if (expr.kind === 'attr') {
        name = expr.name;
      } else {
        this.fail(`'as <name>' after an expression`);
      }
      select.push({ name, expr });
    } while (this.accept(','));
    let groupBy: string | undefined;
    if (this.isWord('group')) {
      this.word('group');
      this.word('by');
      groupBy = this.word();
    }
    this.word('insert');
    this.word('into');
    const outputStream = this.word();
    if (this.isSymbol(';')) this.symbol(';');
    return {
      from,
      outputStream,
      select,
      ...(filter ? { filter } : {}),
      ...(groupBy ? { groupBy } : {}),
      ...(window ? { window } : {}),
    };
  }

  // expression := or ; or := and ('or' and)* ; and := not ('and' not)* ; not := 'not' not | comparison
  expression(): Expr {
    let left = this.and();
    while (this.isWord('or')) {
      this.word('or');
      left = { kind: 'binary', op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isWord('and')) {
      this.word('and');
      left = { kind: 'binary', op: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord('not')) {
      this.word('not');
      return { kind: 'not', operand: this.not() };
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.additive();
    const op = this.peek();
    if (op?.type === 'symbol' && ['==', '!=', '>', '>=', '<', '<='].includes(op.value)) {
      this.i++;
      return { kind: 'binary', op: op.value as '==', left, right: this.additive() };
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.isSymbol('+') || this.isSymbol('-')) {
      const op = (this.peek() as Token).value as '+';
      this.i++;
      left = { kind: 'binary', op, left, right: this.multiplicative() };
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.primary();
    while (this.isSymbol('*') || this.isSymbol('/')) {
      const op = (this.peek() as Token).value as '*';
      this.i++;
      left = { kind: 'binary', op, left, right: this.primary() };
    }
    return left;
  }

  private primary(): Expr {
    const t = this.peek();
    if (!t) this.fail('a value');
    if (t.type === 'symbol' && t.value === '(') {
      this.symbol('(');
      const inner = this.expression();
      this.symbol(')');
      return inner;
    }
    if (t.type === 'symbol' && t.value === '-' && this.peek(1)?.type === 'number') {
      this.i += 2;
      return { kind: 'literal', value: -Number((this.tokens[this.i - 1] as Token).value) };
    }
    if (t.type === 'number') {
      this.i++;
      return { kind: 'literal', value: Number(t.value) };
    }
    if (t.type === 'string') {
      this.i++;
      return { kind: 'literal', value: t.value };
    }
    if (t.type === 'word') {
      const lower = t.value.toLowerCase();
      if (lower === 'true' || lower === 'false') {
        this.i++;
        return { kind: 'literal', value: lower === 'true' };
      }
      if (this.peek(1)?.value === '(' && ['count', 'sum', 'avg', 'min', 'max'].includes(lower)) {
        this.i += 2;
        if (lower === 'count') {
          this.symbol(')');
          return { kind: 'aggregate', fn: 'count' };
        }
        const attr = this.word();
        this.symbol(')');
        return { kind: 'aggregate', fn: lower as AggregateFn, attr };
      }
      if (this.peek(1)?.value === '(')
        throw new SiddhiError(`line ${t.line}: function ${t.value}() is not supported`);
      this.i++;
      return { kind: 'attr', name: t.value };
    }
    this.fail('a value');
  }
}

/** Every aggregate in an expression tree. */
export function aggregatesOf(expr: Expr): Extract<Expr, { kind: 'aggregate' }>[] {
  switch (expr.kind) {
    case 'aggregate':
      return [expr];
    case 'binary':
      return [...aggregatesOf(expr.left), ...aggregatesOf(expr.right)];
    case 'not':
      return aggregatesOf(expr.operand);
    default:
      return [];
  }
}

function attributesOf(expr: Expr): string[] {
  switch (expr.kind) {
    case 'attr':
      return [expr.name];
    case 'aggregate':
      return expr.attr ? [expr.attr] : [];
    case 'binary':
      return [...attributesOf(expr.left), ...attributesOf(expr.right)];
    case 'not':
      return attributesOf(expr.operand);
    default:
      return [];
  }
}

/** Parse a Siddhi app snippet (one `define stream` and one query) into a transform. */
export function parseSiddhi(source: string, input: TransformDef['input']): TransformDef {
  const parser = new Parser(tokenize(source));
  const inputStream = parser.defineStream();
  const query = parser.query();
  if (!parser.atEnd())
    throw new SiddhiError('one define stream and one query are supported; something follows the query');
  if (query.from !== inputStream.name) {
    throw new SiddhiError(`the query reads ${query.from} but the stream defined is ${inputStream.name}`);
  }
  const known = new Set(inputStream.attributes.map((a) => a.name));
  const used = [
    ...(query.filter ? attributesOf(query.filter) : []),
    ...query.select.flatMap((item) => attributesOf(item.expr)),
    ...(query.groupBy ? [query.groupBy] : []),
  ];
  for (const name of used) {
    if (!known.has(name)) throw new SiddhiError(`${inputStream.name} has no attribute ${name}`);
  }
  if (query.filter && aggregatesOf(query.filter).length)
    throw new SiddhiError('a filter cannot use aggregates');
  const stateful = query.select.some((item) => aggregatesOf(item.expr).length > 0);
  if (query.window && !stateful) throw new SiddhiError('a window needs an aggregate in select');
  const { from: _from, ...rest } = query;
  return { input, inputStream, ...rest, stateful };
}
