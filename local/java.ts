/**
 * Java engines of the local stack (Apache Kafka, Amazon DynamoDB Local) come from Maven Central:
 * a small generated POM per engine, resolved once into the local Maven repository, and run from
 * the classpath Maven reports. Missing Java or Maven gets a message saying what to install.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { LogSink } from './log.ts';

const run = promisify(execFile);
const ENGINES_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '.streamgate',
  'engines',
);

export const KAFKA_VERSION = '4.3.1';
export const DYNAMODB_LOCAL_VERSION = '3.1.0';

interface Dependency {
  groupId: string;
  artifactId: string;
  version: string;
}

export const ENGINES = {
  kafka: {
    title: `Apache Kafka ${KAFKA_VERSION}`,
    dependencies: [
      { groupId: 'org.apache.kafka', artifactId: 'kafka_2.13', version: KAFKA_VERSION },
      { groupId: 'org.apache.kafka', artifactId: 'kafka-tools', version: KAFKA_VERSION },
      { groupId: 'org.slf4j', artifactId: 'slf4j-api', version: '2.0.17' },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-slf4j2-impl', version: '2.24.3' },
      { groupId: 'org.apache.logging.log4j', artifactId: 'log4j-core', version: '2.24.3' },
    ],
  },
  dynamodb: {
    title: `Amazon DynamoDB Local ${DYNAMODB_LOCAL_VERSION}`,
    dependencies: [
      { groupId: 'software.amazon.dynamodb', artifactId: 'DynamoDBLocal', version: DYNAMODB_LOCAL_VERSION },
    ],
  },
} satisfies Record<string, { title: string; dependencies: Dependency[] }>;

export type Engine = keyof typeof ENGINES;

export class MissingToolError extends Error {
  override name = 'MissingToolError';
}

/** Java 17 or newer, and Maven, or a clear message of what to install. */
export async function checkJavaTools(): Promise<{ javaVersion: number }> {
  let javaVersion: number;
  try {
    const { stderr, stdout } = await run('java', ['-version']);
    const text = `${stderr}${stdout}`;
    const match = /version "(\d+)(?:\.(\d+))?/.exec(text);
    javaVersion = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : 0;
  } catch {
    throw new MissingToolError(
      'Java is not installed. The local stack runs Apache Kafka and DynamoDB Local on Java 17 or newer:\n' +
        '  Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless\n' +
        '  macOS:         brew install openjdk@17',
    );
  }
  if (javaVersion < 17) {
    throw new MissingToolError(
      `Java ${javaVersion} is too old: Apache Kafka 4 and DynamoDB Local need Java 17 or newer.`,
    );
  }
  try {
    await run('mvn', ['-v']);
  } catch {
    throw new MissingToolError(
      'Maven is not installed. The local stack fetches Apache Kafka and DynamoDB Local from Maven Central with it:\n' +
        '  Debian/Ubuntu: sudo apt-get install -y maven\n' +
        '  macOS:         brew install maven',
    );
  }
  return { javaVersion };
}

function pomOf(engine: Engine): string {
  const deps = ENGINES[engine].dependencies
    .map(
      (d) =>
        `    <dependency><groupId>${d.groupId}</groupId><artifactId>${d.artifactId}</artifactId><version>${d.version}</version></dependency>`,
    )
    .join('\n');
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.streamgate</groupId>
  <artifactId>${engine}-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
${deps}
  </dependencies>
</project>
`;
}

/**
 * The classpath of an engine, resolving it through Maven on first use (shown as progress; later
 * starts reuse the local Maven repository and take no network).
 */
export async function engineClasspath(engine: Engine, _stateDir: string, log: LogSink): Promise<string> {
  // One cache for every state folder (dev, tests, benchmarks): Maven's repository holds the jars.
  const dir = path.join(ENGINES_DIR, engine);
  await mkdir(dir, { recursive: true });
  const pom = pomOf(engine);
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const classpathFile = path.join(dir, `classpath-${hash}.txt`);
  if (existsSync(classpathFile)) {
    const classpath = (await readFile(classpathFile, 'utf8')).trim();
    if (classpath.split(':').every((jar) => existsSync(jar))) return classpath;
  }
  await writeFile(path.join(dir, 'pom.xml'), pom);
  log.info('setup', `fetching ${ENGINES[engine].title} from Maven Central (first start only)…`);
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const mvn = spawn(
      'mvn',
      [
        '-B',
        '-f',
        path.join(dir, 'pom.xml'),
        'dependency:build-classpath',
        `-Dmdep.outputFile=${classpathFile}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let downloaded = 0;
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      output = (output + text).slice(-4000);
      const count = (text.match(/Downloaded from/g) ?? []).length;
      if (count) {
        downloaded += count;
        if (downloaded % 20 < count)
          log.info('setup', `  ${ENGINES[engine].title}: ${downloaded} artifacts downloaded…`);
      }
    };
    mvn.stdout.on('data', onData);
    mvn.stderr.on('data', onData);
    mvn.on('error', reject);
    mvn.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`Maven could not resolve ${ENGINES[engine].title} (exit ${code}):\n${output}`)),
    );
  });
  log.info('setup', `${ENGINES[engine].title} ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return (await readFile(classpathFile, 'utf8')).trim();
}

/**
 * Java sources of the local stack (the Kafka broker's IAM classes, local/kafka-authorizer/) compiled
 * with javac against an engine's classpath, once per version of the sources (and of the classpath):
 * the class folder is cached next to the engines' classpaths. Returns that folder.
 */
export async function compiledClasses(sourceDir: string, classpath: string, log: LogSink): Promise<string> {
  const sources = (await readdir(sourceDir)).filter((f) => f.endsWith('.java')).sort();
  const hash = createHash('sha256').update(classpath);
  for (const file of sources) hash.update(file).update(await readFile(path.join(sourceDir, file)));
  const dir = path.join(
    ENGINES_DIR,
    'classes',
    `${path.basename(sourceDir)}-${hash.digest('hex').slice(0, 16)}`,
  );
  const done = path.join(dir, '.compiled');
  if (existsSync(done)) return dir;
  log.info(
    'setup',
    `compiling ${path.basename(sourceDir)} (${sources.length} Java files, first start only)…`,
  );
  await mkdir(dir, { recursive: true });
  try {
    await run(
      'javac',
      ['-nowarn', '-cp', classpath, '-d', dir, ...sources.map((f) => path.join(sourceDir, f))],
      {
        maxBuffer: 4 * 1024 * 1024,
      },
    );
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr ?? (error as Error).message;
    throw new MissingToolError(
      `javac could not compile ${sourceDir} (a JDK 17 or newer is needed, not only a JRE):\n${detail}`,
    );
  }
  await writeFile(done, '');
  return dir;
}
