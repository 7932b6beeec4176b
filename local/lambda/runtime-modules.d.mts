/** The declared list of what the Lambda Node.js runtime provides (runtime-modules.json). */
export declare const RUNTIME_MODULES: {
  runtime: string;
  sources: string[];
  checked: string;
  /** Every Node.js built-in module (`node:fs`, `fs`, …). */
  builtins: boolean;
  /** Package names; `*` stands for any run of characters but `/`. */
  packages: string[];
};
/** `@scope/name` or `name` of a bare specifier (`@aws-sdk/client-sqs/dist-cjs/x` → `@aws-sdk/client-sqs`). */
export declare function packageNameOf(specifier: string): string;
/** Whether the runtime gives `specifier` to a function without the function shipping it. */
export declare function isRuntimeProvided(specifier: string): boolean;
