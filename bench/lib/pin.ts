import { spawnSync } from 'node:child_process';

/** Pin this process (the load generator) to a CPU, apart from the system under test. */
export function pinSelf(cpu: string): boolean {
  const result = spawnSync('taskset', ['-cp', cpu, String(process.pid)], { stdio: 'ignore' });
  return !result.error && result.status === 0;
}
