import type { CfnElement, Stack } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';

const AREA = Symbol.for('streamgate.StackArea');

/**
 * One area of the stack (tables, token issuer, WebSocket gateway…): it groups the area's resources
 * in the construct tree without taking part in their logical ids. A stack that allocates ids with
 * `logicalIdOutsideAreas` names them as if they were its own children, so an update of a deployed
 * stack keeps every resource: a new logical id would replace it (new tables, a new signing key
 * secret, the retained registry orphaned).
 *
 * CDK also derives some construct ids and physical names from the path (`Names.uniqueId`): an event
 * source mapping's id from its function's, a security group rule's from its group's, a CloudFront
 * function's name. Resources whose path feeds those stay at the stack's root (see where they are
 * created).
 */
export class StackArea extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    Object.defineProperty(this, AREA, { value: true });
  }

  static isStackArea(construct: IConstruct): construct is StackArea {
    return AREA in construct;
  }
}

/**
 * The logical id CDK would give `element` if no StackArea were on its path: for a Stack subclass's
 * `allocateLogicalId`, passing its own (super) allocation. CDK's allocation reads only the element's
 * scopes and stack, so it runs on a view of the element without the areas.
 */
export function logicalIdOutsideAreas(
  element: CfnElement,
  allocate: (element: CfnElement) => string,
): string {
  const scopes = element.node.scopes.filter((scope) => !StackArea.isStackArea(scope));
  const stack: Stack = element.stack;
  return allocate({ node: { scopes }, stack } as unknown as CfnElement);
}
