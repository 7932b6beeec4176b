// One Lambda execution environment of the local stack: a worker thread with its own process.env
// (the function's environment), that loads the bundled handler once (cold start) and runs one
// invocation at a time, as Lambda does. Plain JavaScript: it runs without the TypeScript loader.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { trustExtraCertificates } from './extra-ca.mjs';

const { codeDir, handler, sourceMaps } = workerData;
if (sourceMaps && typeof process.setSourceMapsEnabled === 'function') process.setSourceMapsEnabled(true);

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
      if (error?.code === 'MODULE_NOT_FOUND' && String(error.message).includes(file)) continue;
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
    parentPort.postMessage({ type: 'result', id, ok: false, error: describe(error) });
  }
});
