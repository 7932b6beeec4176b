#!/usr/bin/env node
// The set-up behind `npm start`, `npm test` and `npm run bench`: installs what is missing on first
// use (npm packages; cfn-lint and the AWS CLI through pip; kcat through apt-get), checks Java and
// Maven, then runs the command. Plain Node.js with no dependencies: it runs on a fresh clone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...args] = process.argv.slice(2);
const say = (text) => process.stdout.write(`[streamgate] ${text}\n`);
const fail = (text) => {
  process.stderr.write(`\n[streamgate] ${text}\n`);
  process.exit(1);
};
const has = (cmd, versionArgs = ['--version']) => {
  const result = spawnSync(cmd, versionArgs, { stdio: 'ignore', env: process.env });
  return !result.error && result.status === 0;
};
const run = (cmd, cmdArgs, what) => {
  const result = spawnSync(cmd, cmdArgs, { stdio: 'inherit', cwd: root, env: process.env });
  if (result.error || result.status !== 0) fail(`${what} failed (${cmd} ${cmdArgs.join(' ')}).`);
};

// Node.js
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 11))
  fail(`Node.js 20.11 or newer is needed (this is ${process.version}).`);

// npm packages
const installed = path.join(root, 'node_modules', '.package-lock.json');
if (
  !existsSync(installed) ||
  statSync(installed).mtimeMs < statSync(path.join(root, 'package-lock.json')).mtimeMs
) {
  say('installing npm packages (first run)…');
  // `npm ci` installs exactly the lockfile; where a registry lacks some platform-only optional
  // packages, npm refuses it, and `npm install` (which keeps the locked versions) does the job.
  // npm ci's output (on refusal, its whole usage text) is kept and shown only if the fallback fails too.
  const ci = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (ci.status !== 0) {
    say('npm ci did not apply the lockfile as it is; trying npm install…');
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
      stdio: 'inherit',
      cwd: root,
    });
    if (install.error || install.status !== 0) {
      process.stderr.write(
        `\n[streamgate] npm ci said:\n${ci.stdout ?? ''}${ci.stderr ?? ''}${ci.error ? `${ci.error.message}\n` : ''}`,
      );
      fail('npm install failed (npm install --no-audit --no-fund --loglevel=error).');
    }
  }
}

// Java 17+ and Maven run Kafka and DynamoDB Local; the stack checks the versions and says what to install.
const needsJava = ['start', 'test', 'bench'].includes(command);
if (needsJava && !has('java', ['-version'])) {
  fail(
    'Java is not installed; the local stack needs Java 17+ (Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless).',
  );
}
if (needsJava && !has('mvn', ['-v'])) {
  fail(
    'Maven is not installed; the local stack fetches Kafka and DynamoDB Local with it (Debian/Ubuntu: sudo apt-get install -y maven).',
  );
}

// Python tools the tests use: cfn-lint (template checks) and the AWS CLI (@connections calls).
const venvBin = path.join(root, '.venv', 'bin');
if (command === 'test') {
  process.env.PATH = `${venvBin}${path.delimiter}${process.env.PATH}`;
  const missing = [
    ['cfn-lint', 'cfn-lint'],
    ['aws', 'awscli'],
  ].filter(([cmd]) => !has(cmd));
  if (missing.length) {
    const packages = missing.map(([, pkg]) => pkg);
    say(`installing ${packages.join(' and ')} with pip into .venv (first run)…`);
    if (!existsSync(path.join(venvBin, 'pip')))
      run('python3', ['-m', 'venv', path.join(root, '.venv')], 'creating .venv');
    run(path.join(venvBin, 'pip'), ['install', '--quiet', ...packages], 'pip install');
  }
}

// kcat (Debian package) is one of the Kafka producers the tests use, as users do.
if (command === 'test' && !has('kcat', ['-V'])) {
  say('installing kcat with apt-get (first run)…');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const apt = (...args) => {
    const [cmd, ...rest] = [...sudo, 'apt-get', ...args];
    return spawnSync(cmd, rest, { stdio: 'inherit' }).status === 0;
  };
  if (!apt('install', '-y', '-q', 'kcat') && !(apt('update', '-q') && apt('install', '-y', '-q', 'kcat'))) {
    fail(
      'kcat is needed by the tests and could not be installed; install it with: sudo apt-get install -y kcat',
    );
  }
}

// Types and lint first: a broken build fails in seconds, not after the integration tests.
if (command === 'test' && !args.length) {
  say('type-checking and linting…');
  run('npx', ['tsc', '--noEmit', '-p', '.'], 'TypeScript');
  run('npx', ['biome', 'ci', '.'], 'Biome');
  // The layer rules (.dependency-cruiser.cjs): core does no I/O, adapters never import handlers, …
  run('npm', ['run', '--silent', 'lint:layers'], 'The layer check');
}

const scripts = {
  start: ['node', ['--import', 'tsx', 'local/start.ts', ...args]],
  test: ['npx', ['vitest', 'run', ...args]],
  bench: ['node', ['--import', 'tsx', 'bench/run.ts', ...args]],
};
const script = scripts[command];
if (!script) fail(`usage: node scripts/bootstrap.mjs start|test|bench [args]`);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const child = spawn(script[0], script[1], { stdio: 'inherit', cwd: root, env: process.env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
