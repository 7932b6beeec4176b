#!/usr/bin/env node
// The `streamgate` command: loads the TypeScript CLI through tsx (a project dependency).
import { register } from 'tsx/esm/api';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('./main.ts');
