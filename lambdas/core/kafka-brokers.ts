/**
 * How a client reaches an MSK cluster, from what the Kafka API's GetBootstrapBrokers returns: SASL/IAM
 * when the cluster has IAM brokers, else TLS, else plaintext (the local broker).
 */

/** The broker strings of GetBootstrapBrokers (comma-separated `host:port` lists) this choice reads. */
export interface BootstrapBrokers {
  BootstrapBrokerStringSaslIam?: string | undefined;
  BootstrapBrokerStringTls?: string | undefined;
  BootstrapBrokerString?: string | undefined;
}

/** The brokers to connect to, and how: `iam` is TLS with SASL OAUTHBEARER carrying an MSK IAM token. */
export interface BrokerAccess {
  brokers: string[];
  security: 'iam' | 'tls' | 'plaintext';
}

/** Throws when the cluster offers no brokers a client can use (say SCRAM only). */
export function brokerAccess(found: BootstrapBrokers, clusterArn: string): BrokerAccess {
  if (found.BootstrapBrokerStringSaslIam)
    return { brokers: found.BootstrapBrokerStringSaslIam.split(','), security: 'iam' };
  if (found.BootstrapBrokerStringTls)
    return { brokers: found.BootstrapBrokerStringTls.split(','), security: 'tls' };
  if (found.BootstrapBrokerString)
    return { brokers: found.BootstrapBrokerString.split(','), security: 'plaintext' };
  throw new Error(`cluster ${clusterArn} has no bootstrap brokers this function can use`);
}
