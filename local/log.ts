/**
 * The local stack's console: one line per event, from its own components and from the functions'
 * structured JSON logs (Powertools), which are shown compactly. EMF metric lines are hidden unless
 * verbose.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

export interface LogSinkOptions {
  out: Writable;
  verbose?: boolean;
  color?: boolean;
}

const LEVEL_COLORS: Record<string, string> = { ERROR: '31', WARN: '33', INFO: '36', DEBUG: '90' };
const OMIT = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'function_request_id',
]);

export class LogSink {
  /**
   * Sums of the EMF metrics each function emitted (component → metric → sum), as CloudWatch would
   * aggregate them: what the benchmarks read for their cost model.
   */
  readonly metricSums = new Map<string, Record<string, number>>();

  constructor(private readonly options: LogSinkOptions) {}

  info(component: string, message: string, details?: Record<string, unknown>): void {
    this.write(component, 'INFO', message, details);
  }

  warn(component: string, message: string, details?: Record<string, unknown>): void {
    this.write(component, 'WARN', message, details);
  }

  error(component: string, message: string, details?: Record<string, unknown>): void {
    this.write(component, 'ERROR', message, details);
  }

  debug(component: string, message: string, details?: Record<string, unknown>): void {
    if (this.options.verbose) this.write(component, 'DEBUG', message, details);
  }

  /** Follow a function's stdout and stderr, line by line. */
  attach(component: string, stdout: Readable, stderr: Readable): void {
    for (const stream of [stdout, stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.functionLine(component, line));
    }
  }

  /** Follow a child process's output (Kafka, DynamoDB Local) — only when verbose. */
  attachProcess(component: string, stdout: Readable | null, stderr: Readable | null): void {
    for (const stream of [stdout, stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => {
        if (this.options.verbose) this.raw(component, line);
      });
    }
  }

  private functionLine(component: string, line: string): void {
    if (!line.startsWith('{')) {
      this.raw(component, line);
      return;
    }
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.raw(component, line);
      return;
    }
    if ('_aws' in record) {
      this.addMetrics(component, record);
      if (this.options.verbose) this.raw(component, line);
      return;
    }
    const level = String(record.level ?? 'INFO').toUpperCase();
    if (level === 'DEBUG' && !this.options.verbose) return;
    const details = Object.fromEntries(Object.entries(record).filter(([k]) => !OMIT.has(k)));
    this.write(component, level, String(record.message ?? ''), details);
  }

  private addMetrics(component: string, record: Record<string, unknown>): void {
    const directives = (record._aws as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] })
      ?.CloudWatchMetrics;
    const sums = this.metricSums.get(component) ?? {};
    for (const directive of directives ?? []) {
      for (const { Name } of directive.Metrics ?? []) {
        const value = record[Name];
        const values = Array.isArray(value) ? value : [value];
        for (const v of values) if (typeof v === 'number') sums[Name] = (sums[Name] ?? 0) + v;
      }
    }
    this.metricSums.set(component, sums);
  }

  private raw(component: string, line: string): void {
    this.options.out.write(`${this.prefix(component)} ${line}\n`);
  }

  private write(component: string, level: string, message: string, details?: Record<string, unknown>): void {
    const levelText = this.color(LEVEL_COLORS[level] ?? '0', level.padEnd(5));
    const extra =
      details && Object.keys(details).length ? ` ${this.color('90', JSON.stringify(details))}` : '';
    this.options.out.write(`${this.prefix(component)} ${levelText} ${message}${extra}\n`);
  }

  private prefix(component: string): string {
    const time = new Date().toISOString().slice(11, 23);
    return `${this.color('90', time)} ${this.color('35', component.padEnd(18).slice(0, 18))}`;
  }

  private color(code: string, text: string): string {
    return this.options.color ? `\u001b[${code}m${text}\u001b[0m` : text;
  }
}
