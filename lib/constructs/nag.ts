/**
 * cdk-nag findings streamgate accepts, and why (cdk-nag v3 records them as CDK's own validation
 * acknowledgements). Synthesis fails on any finding not acknowledged here or where it arises.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** Record why a cdk-nag finding (`AwsSolutions-IAM5[Resource::…]`) is accepted on `scope`. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
