/**
 * When an integration test fails, print what the stack logged at WARN or ERROR while it ran: the
 * reason is usually there (a retried batch, a restarted consumer, a refused connection), and CI
 * keeps only the test output.
 */
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, inject } from 'vitest';

const logFile = path.join(inject('stack').stateDir, 'stack.log');
const sizeOf = async () => (await stat(logFile).catch(() => undefined))?.size ?? 0;
let startedAt = 0;

beforeEach(async () => {
  startedAt = await sizeOf();
});

afterEach(async ({ task }) => {
  if (task.result?.state !== 'fail') return;
  const end = await sizeOf();
  const file = await open(logFile, 'r');
  try {
    const { buffer, bytesRead } = await file.read(
      Buffer.alloc(end - startedAt),
      0,
      end - startedAt,
      startedAt,
    );
    const notable = buffer
      .subarray(0, bytesRead)
      .toString('utf8')
      .split('\n')
      .filter((line) => /\s(WARN|ERROR)\s/.test(line));
    process.stderr.write(
      `\n[stack log during "${task.name}": ${notable.length} WARN/ERROR line(s)${notable.length > 60 ? ', the last 60' : ''}]\n` +
        `${notable.slice(-60).join('\n')}\n`,
    );
  } finally {
    await file.close();
  }
});
