// Lambda's Node.js runtime trusts Amazon's certificate authorities (and NODE_EXTRA_CA_CERTS) in
// every TLS client of a function. A local execution environment is a worker thread, where Node has
// already read NODE_EXTRA_CA_CERTS at process start; this adds the file it names (the local stack's
// certificate: the Kafka IAM listener's) to the default trust of the worker's TLS clients, so a
// handler connects to the local broker over TLS as it does to MSK, without a handler change.
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

/** Trust the PEM certificates in `file` (if set) besides Node's own roots, in this worker only. */
export function trustExtraCertificates(file) {
  if (!file) return;
  const ca = [...tls.rootCertificates, readFileSync(file, 'utf8')];
  const createSecureContext = tls.createSecureContext;
  // tls.connect (kafkajs, https) creates its context through the module's createSecureContext.
  tls.createSecureContext = (options) =>
    createSecureContext(options?.ca === undefined ? { ...options, ca } : options);
}
