/**
 * The layers the build enforces (issue 10). Run by `npm test` (type-check-and-lint phase) and by
 * `npm run lint:layers`. Top-down: bench → local → bin/cli → lib → lambdas; inside lambdas,
 * handlers → usecases → adapters → core. Each rule forbids one wrong-way import and its name says
 * which. Type-only imports count: a type is part of the layer it lives in.
 * Docs: https://github.com/sverweij/dependency-cruiser/blob/main/doc/rules-reference.md
 */

/** The Lambda handlers' folders: entry points, never imported by the layers below them. */
const HANDLER_FOLDERS =
  '^lambdas/(connect|message|disconnect|fanout|management|token|producer|channel-handler|signing-key-rotation|handler-follow-up)/';

/** Node.js modules that do I/O (files, sockets, HTTP, processes, threads). */
const NODE_IO_MODULES =
  '^(node:)?(fs|fs/promises|net|tls|dgram|dns|dns/promises|http|https|http2|child_process|worker_threads)$';

/**
 * Packages whose whole point is I/O: the AWS SDK and its Smithy runtime, Kafka, WebSockets, and
 * Powertools (it writes logs and metrics).
 */
const IO_PACKAGES = '(^|/)node_modules/(@aws-sdk/|@smithy/|kafkajs/|ws/|@aws-lambda-powertools/)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-must-not-do-io',
      comment:
        'lambdas/core/ is the pure decision layer: no Node.js I/O modules, no AWS SDK/Smithy, kafkajs or ws. ' +
        'Do the I/O in lambdas/adapters/ and pass the result (or an interface) into core.',
      severity: 'error',
      from: { path: '^lambdas/core/' },
      to: { path: [NODE_IO_MODULES, IO_PACKAGES] },
    },
    {
      name: 'core-must-not-import-outer-layers',
      comment:
        'lambdas/core/ must not import adapters, shared (handler-side wiring), usecases or a handler folder. ' +
        'Move the type or rule down into core, or inject it.',
      severity: 'error',
      from: { path: '^lambdas/core/' },
      to: { path: ['^lambdas/(adapters|shared|usecases)/', HANDLER_FOLDERS] },
    },
    {
      name: 'adapters-must-not-import-handlers-shared-or-usecases',
      comment:
        "lambdas/adapters/ must not import a handler's folder, lambdas/shared/ (handler-side wiring: " +
        'environment, observability, service factories) or lambdas/usecases/ (the layer above). Move ' +
        'shared types into core, inject callbacks.',
      severity: 'error',
      from: { path: '^lambdas/adapters/' },
      to: { path: [HANDLER_FOLDERS, '^lambdas/(shared|usecases)/'] },
    },
    {
      name: 'handlers-must-not-import-other-handlers',
      comment:
        "A handler's folder must not import another handler's folder (that would run its module-level " +
        'wiring): move what both need into usecases/, adapters/ or core/.',
      severity: 'error',
      from: { path: '^lambdas/([^/]+)/', pathNot: '^lambdas/(core|adapters|usecases|shared)/' },
      to: { path: HANDLER_FOLDERS, pathNot: '^lambdas/$1/' },
    },
    {
      name: 'shared-must-not-import-handlers',
      comment: "lambdas/shared/ wires adapters for the handlers: it must not import a handler's folder.",
      severity: 'error',
      from: { path: '^lambdas/shared/' },
      to: { path: HANDLER_FOLDERS },
    },
    {
      name: 'usecases-must-not-import-handlers',
      comment: "lambdas/usecases/ sit below the handlers: they must not import a handler's folder.",
      severity: 'error',
      from: { path: '^lambdas/usecases/' },
      to: { path: HANDLER_FOLDERS },
    },
    {
      name: 'lambdas-must-not-import-tooling',
      comment:
        'lambdas/ and examples/ are what gets bundled and deployed: they must not import the CDK app (lib/), ' +
        'the local stack (local/), the benchmarks (bench/), the CLI (cli/) or the tests (test/).',
      severity: 'error',
      from: { path: '^(lambdas|examples)/' },
      to: { path: '^(lib|local|bench|cli|test)/' },
    },
    {
      name: 'lib-must-not-import-local-or-bench',
      comment: 'lib/ (the CDK app) must not import the local stack (local/) or the benchmarks (bench/).',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: '^(local|bench)/' },
    },
    {
      name: 'local-must-not-import-bench',
      comment: 'local/ (the offline stack) must not import the benchmarks (bench/), which sit above it.',
      severity: 'error',
      from: { path: '^local/' },
      to: { path: '^bench/' },
    },
    {
      name: 'no-circular-imports',
      comment: 'A module must not import itself through a cycle: split out what both sides need.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    // Type-only imports are dependencies too (see the header).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // node_modules is not followed but must not be excluded: the I/O-package rule needs those edges.
    exclude: { path: '(^|/)(cdk\\.out|\\.streamgate)/' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
