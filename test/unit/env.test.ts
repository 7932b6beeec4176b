import { afterEach, describe, expect, it } from 'vitest';
import { ENV, environmentVariables } from '../../lambdas/shared/env.ts';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('the environment contract', () => {
  it('fails fast on a missing required variable, naming it', () => {
    delete process.env.CONNECTIONS_TABLE;
    expect(() => ENV.connectionsTable.read()).toThrow('CONNECTIONS_TABLE environment variable is not set');
    process.env.CONNECTIONS_TABLE = 'connections';
    expect(ENV.connectionsTable.read()).toBe('connections');
  });

  it('reads integers with the documented defaults and refuses malformed ones', () => {
    for (const name of ['REGISTRY_CACHE_SECONDS', 'JWKS_COOLDOWN_SECONDS', 'SIGNING_KEY_CACHE_SECONDS'])
      delete process.env[name];
    delete process.env.SIGNING_KEY_ACTIVATION_SECONDS;
    expect(ENV.registryCacheSeconds.read()).toBe(5);
    expect(ENV.jwksCooldownSeconds.read()).toBe(30);
    expect(ENV.signingKeyCacheSeconds.read()).toBe(300);
    expect(ENV.signingKeyActivationSeconds.read()).toBe(360);
    process.env.SIGNING_KEY_CACHE_SECONDS = '10';
    expect(ENV.signingKeyActivationSeconds.read()).toBe(70);
    process.env.TOPIC_SHARDS = 'four';
    expect(() => ENV.topicShards.read()).toThrow(
      /TOPIC_SHARDS environment variable must be a non-negative integer/,
    );
  });

  it('reads JSON, with a fallback where the variable is optional', () => {
    delete process.env.HANDLER_FUNCTIONS;
    expect(ENV.handlerFunctions.read()).toEqual({});
    process.env.HANDLER_FUNCTIONS = '{"examples/echo":"fn"}';
    expect(ENV.handlerFunctions.read()).toEqual({ 'examples/echo': 'fn' });
    process.env.HANDLER_FUNCTIONS = '{';
    expect(() => ENV.handlerFunctions.read()).toThrow(
      /HANDLER_FUNCTIONS environment variable is not valid JSON/,
    );
    delete process.env.TOKEN_ISSUERS;
    expect(() => ENV.tokenIssuers.read()).toThrow(/TOKEN_ISSUERS environment variable is not set/);
  });

  it('turns contract keys into the variable names the functions read', () => {
    expect(
      environmentVariables({ connectionsTable: 't', topicShards: '4', webSocketEdgeUrl: undefined }),
    ).toEqual({
      CONNECTIONS_TABLE: 't',
      TOPIC_SHARDS: '4',
    });
  });

  it('names every variable once', () => {
    const names = Object.values(ENV).map((variable) => variable.name);
    expect(new Set(names).size).toBe(names.length);
  });
});
