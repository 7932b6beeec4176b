/**
 * The local stack's own AWS credentials: what the AWS CLI, SDKs, tests and the stack itself sign
 * with locally (the "admin" principal of local IAM, allowed everything). Each function signs with
 * its own role's key instead (local/iam). Any other key is refused as AWS refuses it
 * (UnrecognizedClientException); `streamgate local env` prints this one with the endpoints.
 */
import path from 'node:path';

export const LOCAL_CREDENTIALS = { accessKeyId: 'streamgatelocal', secretAccessKey: 'streamgatelocalsecret' };

/**
 * Where a running local stack leaves the environment a shell needs to reach it (`{ "AWS_…": "…" }`),
 * for `streamgate local env`; removed when the stack stops.
 */
export function localEnvironmentFile(stateDir: string): string {
  return path.join(stateDir, 'aws-environment.json');
}

/** `export NAME='value'` lines for a POSIX shell, in the order given. */
export function exportLines(environment: Record<string, string>): string {
  return Object.entries(environment)
    .map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'`)
    .join('\n');
}
