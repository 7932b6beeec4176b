/**
 * Running a transform on events: input mappings (Siddhi's default XML, JSON and text), filters and
 * select expressions, aggregate state and its arithmetic, output mappings. Pure: the state comes in
 * and goes out; `adapters/transform-runner.ts` keeps it in DynamoDB.
 */
import { readXml } from '../xml.ts';
import { type AttributeType, aggregatesOf, type Expr, type TransformDef } from './siddhi.ts';

export type Value = string | number | boolean | null;
export type Event = Record<string, Value>;

// --- input mappings ------------------------------------------------------------------------------

/** Events in a record, typed as the stream defines them; a string when the record does not map. */
export function mapInput(transform: TransformDef, text: string): Event[] | string {
  let raw: Record<string, unknown>[];
  switch (transform.input) {
    case 'xml': {
      const root = readXml(text);
      if (typeof root === 'string') return root;
      if (root.name !== 'events')
        return `the XML root element is <${root.name}>, not <events> (Siddhi's XML mapping)`;
      raw = root.children.map((event) => Object.fromEntries(event.children.map((c) => [c.name, c.text])));
      break;
    }
    case 'json': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return 'not valid JSON';
      }
      const list = Array.isArray(parsed) ? parsed : [parsed];
      raw = list.map((item) =>
        item && typeof item === 'object' && 'event' in item
          ? (item as { event: Record<string, unknown> }).event
          : (item as Record<string, unknown>),
      );
      if (raw.some((r) => !r || typeof r !== 'object' || Array.isArray(r)))
        return 'a JSON event is an object';
      break;
    }
    case 'text':
      raw = [
        Object.fromEntries(
          text
            .split(/,\s*\n|\n|,/)
            .map((pair) => pair.trim())
            .filter(Boolean)
            .map((pair) => {
              const colon = pair.indexOf(':');
              const value = pair.slice(colon + 1).trim();
              return [pair.slice(0, colon).trim(), value.replace(/^"(.*)"$/, '$1')];
            }),
        ),
      ];
      break;
  }
  if (raw.length === 0) return `no events in the record`;
  const events: Event[] = [];
  for (const item of raw) {
    const event: Event = {};
    for (const { name, type } of transform.inputStream.attributes) {
      if (!(name in item)) return `attribute ${name} of ${transform.inputStream.name} is missing`;
      const value = convert(item[name], type);
      if (value === undefined) return `attribute ${name} is not a ${type} (${JSON.stringify(item[name])})`;
      event[name] = value;
    }
    events.push(event);
  }
  return events;
}

function convert(value: unknown, type: AttributeType): Value | undefined {
  if (value === null) return null;
  switch (type) {
    case 'string':
      return typeof value === 'object' ? undefined : String(value);
    case 'int':
    case 'long': {
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      return Number.isInteger(n) && String(value).trim() !== '' ? n : undefined;
    }
    case 'float':
    case 'double': {
      const n = typeof value === 'number' ? value : Number(String(value).trim());
      return Number.isFinite(n) && String(value).trim() !== '' ? n : undefined;
    }
    case 'bool': {
      const text = String(value).trim().toLowerCase();
      return text === 'true' ? true : text === 'false' ? false : undefined;
    }
  }
}

// --- expressions and aggregates --------------------------------------------------------------------

export interface AggState {
  count: number;
  sum: Record<string, number>;
  min: Record<string, number>;
  max: Record<string, number>;
}

export const emptyAgg = (): AggState => ({ count: 0, sum: {}, min: {}, max: {} });

/** The attributes whose sum, min or max a transform keeps. */
export function aggregatedAttributes(transform: TransformDef): string[] {
  return [
    ...new Set(
      transform.select.flatMap((item) => aggregatesOf(item.expr)).flatMap((a) => (a.attr ? [a.attr] : [])),
    ),
  ];
}

export function addEvent(state: AggState, event: Event, attributes: string[]): AggState {
  const next: AggState = {
    count: state.count + 1,
    sum: { ...state.sum },
    min: { ...state.min },
    max: { ...state.max },
  };
  for (const attr of attributes) {
    const value = event[attr];
    if (typeof value !== 'number') continue;
    next.sum[attr] = (next.sum[attr] ?? 0) + value;
    next.min[attr] = Math.min(next.min[attr] ?? value, value);
    next.max[attr] = Math.max(next.max[attr] ?? value, value);
  }
  return next;
}

export function combine(states: AggState[]): AggState {
  return states.reduce<AggState>((total, s) => {
    const next: AggState = {
      count: total.count + s.count,
      sum: { ...total.sum },
      min: { ...total.min },
      max: { ...total.max },
    };
    for (const [attr, v] of Object.entries(s.sum)) next.sum[attr] = (next.sum[attr] ?? 0) + v;
    for (const [attr, v] of Object.entries(s.min)) next.min[attr] = Math.min(next.min[attr] ?? v, v);
    for (const [attr, v] of Object.entries(s.max)) next.max[attr] = Math.max(next.max[attr] ?? v, v);
    return next;
  }, emptyAgg());
}

export function evaluate(expr: Expr, event: Event, agg?: AggState): Value {
  switch (expr.kind) {
    case 'attr':
      return event[expr.name] ?? null;
    case 'literal':
      return expr.value;
    case 'not':
      return !truthy(evaluate(expr.operand, event, agg));
    case 'aggregate': {
      if (!agg) return null;
      const attr = expr.attr as string;
      switch (expr.fn) {
        case 'count':
          return agg.count;
        case 'sum':
          return agg.sum[attr] ?? 0;
        case 'avg':
          return agg.count ? (agg.sum[attr] ?? 0) / agg.count : null;
        case 'min':
          return agg.min[attr] ?? null;
        case 'max':
          return agg.max[attr] ?? null;
      }
      return null;
    }
    case 'binary': {
      const left = evaluate(expr.left, event, agg);
      if (expr.op === 'and') return truthy(left) && truthy(evaluate(expr.right, event, agg));
      if (expr.op === 'or') return truthy(left) || truthy(evaluate(expr.right, event, agg));
      const right = evaluate(expr.right, event, agg);
      switch (expr.op) {
        case '==':
          return left === right;
        case '!=':
          return left !== right;
        case '>':
          return left !== null && right !== null && left > right;
        case '>=':
          return left !== null && right !== null && left >= right;
        case '<':
          return left !== null && right !== null && left < right;
        case '<=':
          return left !== null && right !== null && left <= right;
        default: {
          if (typeof left !== 'number' || typeof right !== 'number') {
            return expr.op === '+' && (typeof left === 'string' || typeof right === 'string')
              ? `${left ?? ''}${right ?? ''}`
              : null;
          }
          if (expr.op === '+') return left + right;
          if (expr.op === '-') return left - right;
          if (expr.op === '*') return left * right;
          return right === 0 ? null : left / right;
        }
      }
    }
  }
}

const truthy = (value: Value) => value === true;

export function passes(transform: TransformDef, event: Event): boolean {
  return !transform.filter || truthy(evaluate(transform.filter, event));
}

/** The output event for an input event, with the aggregates as they stand after it. */
export function project(transform: TransformDef, event: Event, agg?: AggState): Event {
  return Object.fromEntries(transform.select.map((item) => [item.name, evaluate(item.expr, event, agg)]));
}

export function groupOf(transform: TransformDef, event: Event): string {
  return transform.groupBy ? String(event[transform.groupBy] ?? '') : '';
}

// --- output mappings -------------------------------------------------------------------------------

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );

/** Siddhi's number printing: Java's toString, so doubles keep a decimal point (100.0). */
function javaNumber(value: number, integral: boolean): string {
  if (integral || !Number.isInteger(value)) return String(value);
  return `${value}.0`;
}

/** Attributes that print as whole numbers (Siddhi longs): counts and integer attributes. */
export function integralAttributes(transform: TransformDef): Set<string> {
  const types = new Map(transform.inputStream.attributes.map((a) => [a.name, a.type]));
  return new Set(
    transform.select
      .filter((item) => {
        const e = item.expr;
        if (e.kind === 'aggregate')
          return (
            e.fn === 'count' ||
            (['sum', 'min', 'max'].includes(e.fn) && ['int', 'long'].includes(types.get(e.attr ?? '') ?? ''))
          );
        return e.kind === 'attr' && ['int', 'long'].includes(types.get(e.name) ?? '');
      })
      .map((item) => item.name),
  );
}

export function mapOutput(format: 'json' | 'xml' | 'text', events: Event[], integral: Set<string>): string {
  const value = (name: string, v: Value) => (typeof v === 'number' ? javaNumber(v, integral.has(name)) : v);
  switch (format) {
    case 'xml':
      return `<events>${events
        .map(
          (event) =>
            `<event>${Object.entries(event)
              .map(([name, v]) =>
                v === null
                  ? `<${name} xsi:nil="true"/>`
                  : `<${name}>${escapeXml(String(value(name, v)))}</${name}>`,
              )
              .join('')}</event>`,
        )
        .join('')}</events>`;
    case 'json': {
      const mapped = events.map((event) => ({ event }));
      return JSON.stringify(mapped.length === 1 ? mapped[0] : mapped);
    }
    case 'text':
      return events
        .map((event) =>
          Object.entries(event)
            .map(([name, v]) => `${name}:${typeof v === 'string' ? JSON.stringify(v) : value(name, v)}`)
            .join(',\n'),
        )
        .join('\n');
  }
}
