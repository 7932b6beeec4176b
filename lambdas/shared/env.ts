/**
 * Configuration comes from the environment, which CDK sets on AWS and the local runtime sets from the
 * synthesized template. A missing value fails the cold start, not the first request that needs it.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} environment variable is not set`);
  }
  return value;
}

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(
      `${name} environment variable must be a non-negative integer (got ${JSON.stringify(raw)})`,
    );
  }
  return value;
}

export function jsonEnv<T>(name: string): T {
  const raw = requireEnv(name);
  try {
    return JSON.parse(raw) as T;
  } catch (error) {
    throw new Error(`${name} environment variable is not valid JSON: ${(error as Error).message}`);
  }
}
