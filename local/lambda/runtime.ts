/**
 * The local Lambda service: runs the bundled functions of the synthesized template, each in a pool
 * of worker threads (one invocation per worker at a time, as one execution environment), with the
 * function's own environment, memory limit and timeout. A timed-out or crashed environment is
 * thrown away, as Lambda does.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LogSink } from '../log.ts';
import type { LocalFunction } from '../template.ts';

const WORKER_FILE = fileURLToPath(new URL('./worker.mjs', import.meta.url));

export class InvocationError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
    readonly stackLines: string[] = [],
  ) {
    super(message);
    this.name = 'InvocationError';
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class Environment {
  readonly worker: Worker;
  readonly ready: Promise<{ initMs: number }>;
  busy = false;
  dead = false;
  invocations = 0;
  private pending: { id: string; entry: Pending } | undefined;

  constructor(
    readonly fn: LocalFunction,
    env: Record<string, string>,
    log: LogSink,
    onExit: (environment: Environment) => void,
  ) {
    this.worker = new Worker(WORKER_FILE, {
      workerData: {
        codeDir: fn.codeDir,
        handler: fn.handler,
        sourceMaps: (fn.environment.NODE_OPTIONS ?? '').includes('--enable-source-maps'),
      },
      env,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, fn.memoryMb) },
    });
    log.attach(fn.logicalId, this.worker.stdout, this.worker.stderr);
    this.ready = new Promise((resolve, reject) => {
      const onReady = (message: { type: string; initMs: number }) => {
        if (message.type !== 'ready') return;
        this.worker.off('message', onReady);
        resolve({ initMs: message.initMs });
      };
      this.worker.on('message', onReady);
      this.worker.once('error', reject);
    });
    this.ready.catch(() => undefined);
    this.worker.on(
      'message',
      (message: { type: string; id: string; ok: boolean; value?: unknown; error?: never }) => {
        if (message.type !== 'result' || this.pending?.id !== message.id) return;
        const { entry } = this.pending;
        this.pending = undefined;
        clearTimeout(entry.timer);
        if (message.ok) entry.resolve(message.value);
        else {
          const error = message.error as unknown as {
            errorType: string;
            errorMessage: string;
            stack?: string[];
          };
          entry.reject(new InvocationError(error.errorType, error.errorMessage, error.stack));
        }
      },
    );
    this.worker.on('error', (error) => this.fail(new InvocationError('Runtime.ExitError', error.message)));
    this.worker.on('exit', (code) => {
      this.dead = true;
      this.fail(new InvocationError('Runtime.ExitError', `the execution environment exited (code ${code})`));
      onExit(this);
    });
  }

  invoke(event: unknown, context: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const id = String(context.awsRequestId);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(
          new InvocationError(
            'Sandbox.Timedout',
            `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
          ),
        );
        void this.worker.terminate();
      }, timeoutMs);
      this.pending = { id, entry: { resolve, reject, timer } };
      this.worker.postMessage({ type: 'invoke', id, event, context });
    });
  }

  private fail(error: Error): void {
    if (!this.pending) return;
    const { entry } = this.pending;
    this.pending = undefined;
    clearTimeout(entry.timer);
    entry.reject(error);
  }
}

export interface LambdaRuntimeOptions {
  /** Environment every function gets besides its own: region, credentials, endpoints. */
  baseEnvironment: Record<string, string>;
  /** Execution environments per function at most (Lambda's concurrency, scaled to one machine). */
  maxConcurrency: number;
  log: LogSink;
  /** Applied over each function's own environment. */
  overrides?: Record<string, string>;
  /**
   * The function's own credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`: its execution
   * role's, from `LocalIam`), applied last: Lambda reserves these variables, so neither the
   * template nor an override can change them.
   */
  credentialsOf?: (fn: LocalFunction) => Record<string, string>;
}

export interface InvocationStats {
  invocations: number;
  coldStarts: number;
  initMs: number[];
  /** Durations rounded up to the millisecond, as Lambda bills them; with memoryMb, GB-seconds. */
  billedMs: number;
  memoryMb: number;
}

/**
 * A failure to inject into the next invocations of a function (chaos for tests and demos):
 * `before` fails without running the handler; `after` runs it, then fails as a timeout would.
 */
export interface Fault {
  count: number;
  mode: 'before' | 'after';
}

export class LambdaRuntime {
  private readonly functions = new Map<string, LocalFunction>();
  private readonly faults = new Map<string, Fault>();
  private readonly pools = new Map<string, Environment[]>();
  /** Invocations waiting for an environment, per function; synchronous ones go first. */
  private readonly waiting = new Map<string, { wake: () => void; asynchronous: boolean }[]>();
  readonly stats = new Map<string, InvocationStats>();
  private closed = false;

  constructor(
    functions: LocalFunction[],
    private readonly options: LambdaRuntimeOptions,
  ) {
    for (const fn of functions) {
      this.functions.set(fn.logicalId, fn);
      this.pools.set(fn.logicalId, []);
      this.stats.set(fn.logicalId, {
        invocations: 0,
        coldStarts: 0,
        initMs: [],
        billedMs: 0,
        memoryMb: fn.memoryMb,
      });
    }
  }

  injectFault(functionId: string, fault: Fault): void {
    if (!this.functions.has(functionId)) throw new Error(`no function ${functionId}`);
    this.faults.set(functionId, { ...fault });
  }

  /** A function by logical id, or by its handler folder (POWERTOOLS_SERVICE_NAME), e.g. `fanout`. */
  findFunction(name: string): LocalFunction | undefined {
    return (
      this.functions.get(name) ??
      [...this.functions.values()].find((fn) => fn.environment.POWERTOOLS_SERVICE_NAME === name)
    );
  }

  /** A function by its name or ARN, as the Lambda API names it. */
  functionByName(nameOrArn: string): LocalFunction | undefined {
    const name = nameOrArn.startsWith('arn:') ? (nameOrArn.split(':')[6] ?? '') : nameOrArn;
    return [...this.functions.values()].find((fn) => fn.name === name);
  }

  has(functionId: string): boolean {
    return this.functions.has(functionId);
  }

  functionByLogicalId(functionId: string): LocalFunction | undefined {
    return this.functions.get(functionId);
  }

  /**
   * Invoke (RequestResponse); rejects with InvocationError when the function fails. `asynchronous`:
   * an Event invocation, which waits behind synchronous ones for a free environment — on AWS it
   * comes off a queue of its own and never holds up a caller that waits for an answer.
   */
  async invoke<T = unknown>(
    functionId: string,
    event: unknown,
    options: { asynchronous?: boolean } = {},
  ): Promise<T> {
    if (this.closed) throw new InvocationError('ServiceException', 'the local Lambda service is stopping');
    const fn = this.functions.get(functionId);
    if (!fn)
      throw new InvocationError('ResourceNotFoundException', `no function ${functionId} in the template`);
    const fault = this.faults.get(functionId);
    let failAfter = false;
    if (fault && fault.count > 0) {
      fault.count--;
      if (fault.mode === 'before')
        throw new InvocationError('Injected.Fault', 'injected failure before the handler ran');
      failAfter = true;
    }
    const environment = await this.acquire(fn, options.asynchronous === true);
    const stats = this.stats.get(functionId) as InvocationStats;
    stats.invocations++;
    const timeoutMs = fn.timeoutSeconds * 1000;
    const context = {
      awsRequestId: randomUUID(),
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: String(fn.memoryMb),
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: `local/${environment.worker.threadId}`,
      deadline: Date.now() + timeoutMs,
    };
    const started = performance.now();
    try {
      const result = (await environment.invoke(event, context, timeoutMs)) as T;
      if (failAfter) throw new InvocationError('Injected.Fault', 'injected failure after the handler ran');
      return result;
    } finally {
      stats.billedMs += Math.ceil(performance.now() - started);
      environment.invocations++;
      this.release(fn, environment);
    }
  }

  private async acquire(fn: LocalFunction, asynchronous: boolean): Promise<Environment> {
    for (;;) {
      const pool = this.pools.get(fn.logicalId) as Environment[];
      const idle = pool.find((e) => !e.busy && !e.dead);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (pool.filter((e) => !e.dead).length < this.options.maxConcurrency) {
        const environment = new Environment(fn, this.environmentOf(fn), this.options.log, (e) =>
          this.forget(e),
        );
        environment.busy = true;
        pool.push(environment);
        const stats = this.stats.get(fn.logicalId) as InvocationStats;
        stats.coldStarts++;
        try {
          const { initMs } = await environment.ready;
          stats.initMs.push(initMs);
        } catch (error) {
          this.forget(environment);
          throw new InvocationError('Runtime.InitError', (error as Error).message);
        }
        return environment;
      }
      await new Promise<void>((wake) => {
        const queue = this.waiting.get(fn.logicalId) ?? [];
        queue.push({ wake, asynchronous });
        this.waiting.set(fn.logicalId, queue);
      });
    }
  }

  private release(fn: LocalFunction, environment: Environment): void {
    environment.busy = false;
    this.wakeNext(fn.logicalId);
  }

  private wakeNext(functionId: string): void {
    const queue = this.waiting.get(functionId);
    if (!queue?.length) return;
    const sync = queue.findIndex((w) => !w.asynchronous);
    const [next] = queue.splice(Math.max(sync, 0), 1);
    next?.wake();
  }

  private forget(environment: Environment): void {
    const pool = this.pools.get(environment.fn.logicalId);
    if (!pool) return;
    const index = pool.indexOf(environment);
    if (index >= 0) pool.splice(index, 1);
    this.wakeNext(environment.fn.logicalId);
  }

  private environmentOf(fn: LocalFunction): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: 'UTC',
      ...this.options.baseEnvironment,
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      // As Lambda sets it for on-demand functions: Powertools reads it to mark cold starts.
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      LAMBDA_TASK_ROOT: fn.codeDir,
      ...fn.environment,
      ...(this.options.overrides ?? {}),
      ...(this.options.credentialsOf?.(fn) ?? {}),
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.pools.values()].flat();
    await Promise.all(all.map((environment) => environment.worker.terminate()));
  }
}
