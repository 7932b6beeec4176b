// One Lambda execution environment of the local stack: a worker thread with its own process.env
// (the function's environment), that loads the bundled handler once (cold start) and runs one
// invocation at a time, as Lambda does. Plain JavaScript: it runs without the TypeScript loader.
//
// The bundle sees what it would see on Lambda: its own folder (/var/task) and the modules the runtime
// provides (runtime-modules.json). A require from the bundle of anything else — a package of the
// project's node_modules that the bundle left out — fails as on Lambda (Runtime.ImportModuleError
// naming the module), instead of quietly resolving from the folders above the bundle.
import Module, { createRequire, isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { trustExtraCertificates } from './extra-ca.mjs';
import { isRuntimeProvided } from './runtime-modules.mjs';

const { codeDir, handler, sourceMaps } = workerData;
if (sourceMaps && typeof process.setSourceMapsEnabled === 'function') process.setSourceMapsEnabled(true);

const bundleRoot = path.resolve(codeDir);
const insideBundle = (file) => file === bundleRoot || file.startsWith(bundleRoot + path.sep);
// Stands in for the runtime's own copy (/var/runtime/node_modules on Lambda).
const runtimeRequire = createRequire(fileURLToPath(new URL('../../package.json', import.meta.url)));

function moduleNotFound(request, parent) {
  return Object.assign(new Error(`Cannot find module '${request}'\nRequire stack:\n- ${parent}`), {
    code: 'MODULE_NOT_FOUND',
    requireStack: [parent],
  });
}

// CommonJS resolution (every streamgate bundle is CommonJS; esbuild turns an external `import()`
// into a require too). Node's order is kept: the bundle's own folder first, then the runtime's.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const from = parent?.filename;
  if (!from || !insideBundle(from) || isBuiltin(request))
    return resolveFilename.call(this, request, parent, ...rest);
  let resolved;
  try {
    resolved = resolveFilename.call(this, request, parent, ...rest);
  } catch (error) {
    if (!isRuntimeProvided(request)) throw error;
  }
  if (resolved && insideBundle(resolved)) return resolved;
  if (isRuntimeProvided(request)) return runtimeRequire.resolve(request);
  throw moduleNotFound(request, from);
};
trustExtraCertificates(process.env.NODE_EXTRA_CA_CERTS);

const dot = handler.lastIndexOf('.');
const moduleName = handler.slice(0, dot);
const exportName = handler.slice(dot + 1);

async function loadHandler() {
  const base = path.join(codeDir, moduleName);
  for (const extension of ['.js', '.cjs', '.mjs']) {
    const file = base + extension;
    try {
      let mod;
      if (extension === '.mjs') {
        mod = await import(pathToFileURL(file).href);
      } else {
        mod = createRequire(file)(file);
      }
      const fn = mod?.[exportName] ?? mod?.default?.[exportName];
      if (typeof fn !== 'function') {
        throw Object.assign(new Error(`${handler} is undefined or not exported`), {
          name: 'Runtime.HandlerNotFound',
        });
      }
      return fn;
    } catch (error) {
      if (
        error?.code === 'MODULE_NOT_FOUND' &&
        String(error.message).startsWith(`Cannot find module '${file}'`)
      )
        continue;
      throw error;
    }
  }
  throw Object.assign(new Error(`Cannot find module '${moduleName}' in ${codeDir}`), {
    name: 'Runtime.ImportModuleError',
  });
}

const started = performance.now();
let handlerFn;
let initError;
try {
  handlerFn = await loadHandler();
} catch (error) {
  initError = describe(error);
  // As Lambda reports a module the bundle needs and neither it nor the runtime has.
  if (error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_MODULE_NOT_FOUND') {
    initError = {
      ...initError,
      errorType: 'Runtime.ImportModuleError',
      errorMessage: `Error: ${error.message}`,
    };
  }
  console.error(`ERROR\tUncaught Exception \t${JSON.stringify(initError)}`);
}
parentPort.postMessage({ type: 'ready', initMs: performance.now() - started, error: initError });

function describe(error) {
  if (error instanceof Error) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      stack: String(error.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(error) };
}

parentPort.on('message', async (message) => {
  if (message.type !== 'invoke') return;
  const { id, event, context } = message;
  if (initError) {
    parentPort.postMessage({ type: 'result', id, ok: false, error: initError });
    return;
  }
  const lambdaContext = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
    done() {},
    fail() {},
    succeed() {},
  };
  try {
    const value = await handlerFn(event, lambdaContext);
    parentPort.postMessage({ type: 'result', id, ok: true, value: value === undefined ? null : value });
  } catch (error) {
    // As the Node.js runtime logs a handler's error in the function's own log stream.
    console.error(`${context.awsRequestId}\tERROR\tInvoke Error \t${JSON.stringify(describe(error))}`);
    parentPort.postMessage({ type: 'result', id, ok: false, error: describe(error) });
  }
});
