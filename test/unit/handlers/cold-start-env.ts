/**
 * The configuration a WebSocket function reads at its cold start, for tests that import a handler
 * module (which builds its default dependencies at import, as on Lambda). Import it hoisted:
 * `await vi.hoisted(() => import('./cold-start-env.ts'))`. Logs are silenced.
 */
Object.assign(process.env, {
  CONNECTIONS_TABLE: 'Connections',
  THROTTLE_TABLE: 'Throttle',
  REGISTRY_TABLE: 'Registry',
  BUILTIN_ISSUER: 'https://issuer.test',
  TOKEN_ISSUERS: '[]',
  CALLBACK_URL: 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/prod',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_METRICS_NAMESPACE: 'streamgate-test',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
});
