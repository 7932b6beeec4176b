import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkJavaTools, MissingToolError } from '../../local/java.ts';

const originalPath = process.env.PATH;
afterEach(() => {
  process.env.PATH = originalPath;
});

describe('the Java engines', () => {
  it('say what to install when Java is missing', async () => {
    process.env.PATH = mkdtempSync(path.join(tmpdir(), 'no-java-'));
    const error = await checkJavaTools().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingToolError);
    expect((error as Error).message).toMatch(
      /Java is not installed.*apt-get install -y openjdk-17-jre-headless/s,
    );
  });

  it('find Java 17+ and Maven on this machine', async () => {
    expect((await checkJavaTools()).javaVersion).toBeGreaterThanOrEqual(17);
  });
});
