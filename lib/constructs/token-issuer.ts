import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ACCESS_TOKEN_TYP, type IssuerConfig } from '../../lambdas/core/auth.ts';
import type { Catalog } from '../../lambdas/core/catalog.ts';
import type { TokenConfig } from '../config.ts';
import { accessLogFormat } from './logging.ts';
import { acknowledge } from './nag.ts';
import { StackArea } from './stack-area.ts';
import { StreamgateFunction } from './streamgate-function.ts';
import type { StreamgateTable } from './streamgate-table.ts';

export interface TokenIssuerProps {
  /** The compiled API catalog (scopes an application may be granted). */
  readonly catalog: Catalog;
  /** The registry: applications and their client credentials. */
  readonly registry: StreamgateTable;
  /** `token` of streamgate.config.json: audience, lifetime, rotation, key caching. */
  readonly token: TokenConfig;
  /** How long the functions' (and access) logs are kept. */
  readonly logRetention: RetentionDays;
  /**
   * Limits of the HTTP API, in requests per second: `rateLimit`/`burstLimit` the stage default
   * (shared by the token endpoint and administration), `publicDocuments` the well-known route's own.
   * @default { rateLimit: 100, burstLimit: 50, publicDocuments: { rateLimit: 1000, burstLimit: 500 } }
   */
  readonly throttle?: {
    rateLimit: number;
    burstLimit: number;
    publicDocuments?: { rateLimit: number; burstLimit: number };
  };
}

/** Route key of the public documents (JWKS, authorization server metadata). */
export const PUBLIC_DOCUMENTS_ROUTE = 'GET /.well-known/{document}';

/**
 * The built-in OAuth2 token issuer: signing keys in a Secrets Manager secret that only its rotation
 * function writes (rotated at once and then every `token.rotationDays`), and the token function
 * behind an HTTP API (`POST /oauth2/token`, `GET /.well-known/{document}`), with a throttled
 * `$default` stage and access logs. The HTTP API also carries the management API's routes.
 */
export class TokenIssuer extends StackArea {
  /** The HTTP API of the issuer (and of the management API). */
  readonly httpApi: HttpApi;
  /** The issuer's URL (`iss` of its tokens): the HTTP API's endpoint. */
  readonly issuerUrl: string;
  /** Serves the token endpoint and the well-known documents. */
  readonly tokenFunction: StreamgateFunction;
  /** Rotates the signing keys (Secrets Manager rotation). */
  readonly rotationFunction: StreamgateFunction;
  /** The issuer's public keys (JWKS) as the rotation publishes them. */
  private readonly publicKeys: Secret;

  constructor(scope: Construct, id: string, props: TokenIssuerProps) {
    super(scope, id);
    const { catalog, logRetention, token } = props;
    const signingKeys = new Secret(this, 'SigningKeys', {
      description:
        'streamgate token issuer signing keys (private JWKs); written only by the rotation function',
      generateSecretString: { secretStringTemplate: '{"keys":[]}', generateStringKey: 'unused' },
    });
    // The public half only, published by the rotation for `$connect` (which may not read the keys).
    this.publicKeys = new Secret(this, 'PublicJwks', {
      description:
        'streamgate token issuer PUBLIC keys (JWKS), published by the signing-key rotation for $connect',
      generateSecretString: { secretStringTemplate: '{"keys":[]}', generateStringKey: 'unused' },
    });
    acknowledge(
      this.publicKeys,
      'AwsSolutions-SMG4',
      'Public keys, not a credential: rewritten by the signing-key rotation each time the keys rotate.',
    );
    this.rotationFunction = new StreamgateFunction(this, 'SigningKeyRotation', {
      handlerDir: 'signing-key-rotation',
      catalog,
      logRetention,
      timeout: Duration.seconds(30),
      environment: {
        tokenLifetimeSeconds: String(token.lifetimeSeconds),
        signingKeyActivationSeconds: String(token.signingKeyActivationSeconds),
        publicJwksSecret: this.publicKeys.secretArn,
      },
    });
    this.publicKeys.grantWrite(this.rotationFunction);
    acknowledge(
      this.rotationFunction.role as Construct,
      'AwsSolutions-IAM5[Resource::*]',
      'secretsmanager:GetRandomPassword, granted by the rotation schedule, has no resource to scope to.',
    );
    signingKeys.addRotationSchedule('Rotation', {
      rotationLambda: this.rotationFunction,
      automaticallyAfter: Duration.days(token.rotationDays),
      rotateImmediatelyOnUpdate: true,
    });

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'streamgate OAuth2 token issuer and JWKS',
      createDefaultStage: false,
    });
    this.issuerUrl = this.httpApi.apiEndpoint;
    this.tokenFunction = new StreamgateFunction(this, 'Token', {
      handlerDir: 'token',
      catalog,
      logRetention,
      timeout: Duration.seconds(10),
      environment: {
        tokenIssuer: this.issuerUrl,
        tokenAudience: token.audience,
        tokenLifetimeSeconds: String(token.lifetimeSeconds),
        signingKeySecret: signingKeys.secretArn,
        signingKeyCacheSeconds: String(token.signingKeyCacheSeconds),
        signingKeyActivationSeconds: String(token.signingKeyActivationSeconds),
      },
    });
    props.registry.bind(this.tokenFunction, 'read');
    signingKeys.grantRead(this.tokenFunction);
    const integration = new HttpLambdaIntegration('TokenIntegration', this.tokenFunction);
    acknowledge(
      this.httpApi,
      'AwsSolutions-APIG4',
      'Administration routes use IAM authorization; OAuth2 and application self-service routes authenticate client credentials themselves (client_secret_basic/post); the JWKS and metadata are public by design.',
    );
    this.httpApi.addRoutes({ path: '/oauth2/token', methods: [HttpMethod.POST], integration });
    const publicRoutes = this.httpApi.addRoutes({
      path: '/.well-known/{document}',
      methods: [HttpMethod.GET],
      integration,
    });

    const logs = new LogGroup(this, 'HttpApiAccessLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const throttle = props.throttle ?? { rateLimit: 100, burstLimit: 50 };
    const publicDocuments = throttle.publicDocuments ?? { rateLimit: 1000, burstLimit: 500 };
    const stage = new HttpStage(this, 'HttpApiStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(logs), format: accessLogFormat('http') },
    });
    // Public documents get a route setting of their own: anonymous JWKS readers never spend the
    // budget of the token endpoint and administration (the stage default). Clients and CDNs cache
    // them (`cache-control: public, max-age=300` from the token function).
    const cfnStage = stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = {
      [PUBLIC_DOCUMENTS_ROUTE]: {
        // RouteSettings is JSON to CloudFormation as written (no key conversion): its own casing.
        ThrottlingRateLimit: publicDocuments.rateLimit,
        ThrottlingBurstLimit: publicDocuments.burstLimit,
      },
    };
    // A route setting may name only a route that exists.
    for (const route of publicRoutes) cfnStage.node.addDependency(route);
    new CfnOutput(this, 'HttpApiUrl', { value: this.issuerUrl, description: 'Token endpoint and JWKS' });
  }

  /**
   * Let `fn` verify the built-in issuer's tokens without an HTTP round trip: read the published
   * public keys (GetSecretValue on that secret only; never the signing keys).
   */
  grantPublicKeys(fn: StreamgateFunction): void {
    this.publicKeys.grantRead(fn);
    fn.setEnvironment({ publicJwksSecret: this.publicKeys.secretArn });
  }

  /** The token endpoint (`POST`, client credentials grant). */
  get tokenUrl(): string {
    return `${this.issuerUrl}/oauth2/token`;
  }

  /**
   * The built-in issuer as the gateway trusts it: its JWKS, `audience` for its tokens, and the
   * `typ: at+jwt` header every token it signs carries (RFC 9068), so no other JWT passes for one.
   */
  trustedAs(audience: string): IssuerConfig {
    return {
      issuer: this.issuerUrl,
      jwksUri: `${this.issuerUrl}/.well-known/jwks.json`,
      audience,
      typ: ACCESS_TOKEN_TYP,
    };
  }
}
