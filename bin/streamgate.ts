#!/usr/bin/env node
/**
 * The CDK app: validates the API definitions under `apis/`, then synthesizes the stack and prints
 * its idle cost per month to stderr (lib/cost.ts).
 * `npx cdk synth` runs offline, without AWS credentials (the stack is environment-agnostic
 * unless CDK_DEFAULT_ACCOUNT/REGION or `-c account=… -c region=…` pin it).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError, loadConfig } from '../lib/config.ts';
import { formatIdleCost, idleMonthlyCost, loadIdlePrices } from '../lib/cost.ts';
import { loadCatalog } from '../lib/definitions/load.ts';
import { DefinitionError } from '../lib/definitions/problems.ts';
import { StreamgateStack } from '../lib/streamgate-stack.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildApp(app: App = new App()): Promise<{ app: App; stack: StreamgateStack }> {
  const config = loadConfig(path.join(root, 'streamgate.config.json'));
  // More definition folders (the integration tests add their fixtures): context streamgate:extraApiDirs.
  const extraDirs = String(app.node.tryGetContext('streamgate:extraApiDirs') ?? '')
    .split(',')
    .filter(Boolean);
  const catalogs = await Promise.all(
    [path.join(root, 'apis'), ...extraDirs.map((d) => path.resolve(root, d))].map((dir) =>
      loadCatalog(dir, { displayRoot: root }),
    ),
  );
  const catalog = {
    apis: catalogs.flatMap((c) => c.apis),
    documents: Object.assign({}, ...catalogs.map((c) => c.documents)),
  };
  const account = app.node.tryGetContext('account') ?? process.env.CDK_DEFAULT_ACCOUNT;
  const region = app.node.tryGetContext('region') ?? process.env.CDK_DEFAULT_REGION;
  const stack = new StreamgateStack(app, app.node.tryGetContext('stackName') ?? 'Streamgate', {
    catalog,
    config,
    description: 'streamgate: event streams as managed WebSocket APIs',
    ...(account && region ? { env: { account, region } } : {}),
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  try {
    const { app, stack } = await buildApp();
    const assembly = app.synth();
    // What this deploy costs before its first user (stderr: stdout may carry the template).
    const prices = loadIdlePrices();
    const template = assembly.getStackArtifact(stack.artifactId).template;
    console.error(formatIdleCost(idleMonthlyCost(template, prices), prices));
  } catch (error) {
    if (error instanceof DefinitionError || error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
