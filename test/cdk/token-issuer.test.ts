import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StreamgateTables } from '../../lib/constructs/tables.ts';
import { TokenIssuer, type TokenIssuerProps } from '../../lib/constructs/token-issuer.ts';
import {
  catalog,
  DEFAULT_CONFIG,
  logRetention,
  statementsOf,
  testFunction,
  testStack,
  variablesOf,
} from './construct-fixtures.ts';

function issuerStack(
  token = DEFAULT_CONFIG.token,
  more: Partial<TokenIssuerProps> = {},
  before: (issuer: TokenIssuer, stack: Stack) => void = () => {},
) {
  const stack = testStack();
  const tables = new StreamgateTables(stack, 'Tables');
  const issuer = new TokenIssuer(stack, 'Issuer', {
    catalog,
    registry: tables.registry,
    token,
    logRetention,
    ...more,
  });
  before(issuer, stack);
  return { issuer, template: Template.fromStack(stack) };
}

describe('TokenIssuer', () => {
  it('rotates the signing keys with its own function, at once and then every rotationDays', () => {
    const { template } = issuerStack({ ...DEFAULT_CONFIG.token, rotationDays: 7 });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('SigningKeyRotation'), 'Arn'] },
      RotationRules: { ScheduleExpression: 'rate(7 days)' },
      RotateImmediatelyOnUpdate: true,
    });
  });

  it('passes the token settings down, the four once undocumented ones included', () => {
    const { template } = issuerStack({
      ...DEFAULT_CONFIG.token,
      signingKeyCacheSeconds: 120,
      signingKeyActivationSeconds: 600,
    });
    expect(variablesOf(template, 'token')).toMatchObject({
      TOKEN_ISSUER: expect.anything(),
      TOKEN_AUDIENCE: 'streamgate',
      TOKEN_TTL_SECONDS: '3600',
      SIGNING_KEY_SECRET: { Ref: expect.stringMatching(/SigningKeys/) },
      SIGNING_KEY_CACHE_SECONDS: '120',
      SIGNING_KEY_ACTIVATION_SECONDS: '600',
      REGISTRY_TABLE: { Ref: expect.stringMatching(/RegistryTable/) },
    });
    expect(variablesOf(template, 'signing-key-rotation')).toMatchObject({
      TOKEN_TTL_SECONDS: '3600',
      SIGNING_KEY_ACTIVATION_SECONDS: '600',
    });
  });

  it('lets the token function read the keys and the registry, not change them', () => {
    const { template } = issuerStack();
    const statements = JSON.stringify(statementsOf(template, 'IssuerTokenRole'));
    expect(statements).toContain('secretsmanager:GetSecretValue');
    expect(statements).toContain('dynamodb:GetItem');
    expect(statements).not.toMatch(/PutItem|PutSecretValue/);
  });

  it('serves the token endpoint and the well-known documents on a throttled $default stage with access logs', () => {
    const { issuer, template } = issuerStack();
    const keys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    expect(keys.sort()).toEqual(['GET /.well-known/{document}', 'POST /oauth2/token']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50 },
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('latencyMs') },
    });
    template.hasOutput('*', { Description: 'Token endpoint and JWKS' });
    // The public documents have their own limit, so anonymous readers never spend the token
    // endpoint's and administration's (issue 11, class 4).
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      RouteSettings: {
        'GET /.well-known/{document}': { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 500 },
      },
    });
    expect(issuer.trustedAs('aud')).toMatchObject({ audience: 'aud' });
    expect(issuer.trustedAs('aud').jwksUri).toMatch(/\/\.well-known\/jwks\.json$/);
  });

  it('takes the HTTP limits from config, the public documents’ apart', () => {
    const { template } = issuerStack(DEFAULT_CONFIG.token, {
      throttle: { rateLimit: 20, burstLimit: 10, publicDocuments: { rateLimit: 300, burstLimit: 200 } },
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(stage?.Properties).toMatchObject({
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 10 },
      RouteSettings: {
        'GET /.well-known/{document}': { ThrottlingRateLimit: 300, ThrottlingBurstLimit: 200 },
      },
    });
    // A route setting may name only a route that exists: the stage waits for it.
    expect(JSON.stringify(stage?.DependsOn ?? [])).toMatch(/wellknown/i);
  });

  it('publishes the public keys for $connect: the rotation writes them, a granted reader only reads them', () => {
    const { template } = issuerStack(DEFAULT_CONFIG.token, {}, (issuer, stack) =>
      issuer.grantPublicKeys(testFunction(stack, 'Reader')),
    );
    expect(variablesOf(template, 'signing-key-rotation')).toMatchObject({
      PUBLIC_JWKS_SECRET: { Ref: expect.stringMatching(/PublicJwks/) },
    });
    const rotation = JSON.stringify(statementsOf(template, 'IssuerSigningKeyRotation'));
    expect(rotation).toMatch(/PutSecretValue.*PublicJwks/s);
    const read = statementsOf(template, 'Reader');
    expect(JSON.stringify(read)).toContain('secretsmanager:GetSecretValue');
    // Only the public keys' secret: never the signing keys.
    for (const statement of read) expect(JSON.stringify(statement.Resource)).not.toMatch(/SigningKeys/);
    expect(JSON.stringify(read)).toMatch(/PublicJwks/);
  });
});
