/**
 * Child processes of the local stack: started, waited for, and always stopped — on stop(), and
 * when the parent exits for any reason, so Ctrl-C leaves nothing running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { LogSink } from './log.ts';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export interface ManagedProcess {
  child: ChildProcess;
  stop(): Promise<void>;
  /** Resolves when the process exits by itself (with its exit code). */
  exited: Promise<number | null>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; log: LogSink },
): ManagedProcess {
  installExitHook();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  options.log.attachProcess(name, child.stdout, child.stderr);
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      running.delete(child);
      resolve(code);
    });
    child.on('error', (error) => {
      running.delete(child);
      options.log.error(name, `could not start: ${error.message}`);
      resolve(-1);
    });
  });
  return {
    child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** True when something accepts a TCP connection on host:port now (the probe connection is closed at once). */
export function isPortOpen(port: number, host: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolve once something accepts TCP connections on the port; reject on timeout or exit. */
export async function waitForPort(
  port: number,
  host: string,
  timeoutMs: number,
  exited?: Promise<number | null>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited?.then(() => {
    gone = true;
  });
  while (Date.now() < deadline) {
    if (gone) throw new Error(`the process exited before listening on port ${port}`);
    if (await isPortOpen(port, host)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs / 1000} s`);
}

/** A port the local stack needs is taken (a user error: `npm start` prints the message alone). */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
}

/**
 * Fail early, with the port's name and the `npm start` option that moves it, when something else
 * already listens there. `what`: a key of LocalPorts (`ws`, `kafkaController`, …).
 */
export async function assertPortFree(port: number, host: string, what: string): Promise<void> {
  if (await isPortOpen(port, host)) {
    const option =
      what === 'kafkaIam'
        ? 'it is --kafka-port + 6'
        : `--${what.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}-port <port>`;
    throw new PortInUseError(
      `port ${port} (${what}) is already in use — is another local stack running? Stop it, or choose another port (${option}).`,
    );
  }
}
