/**
 * Preloaded into the `npm start` process of the memory bench only (node --expose-gc --require):
 * SIGUSR2 runs a full garbage collection and reports what the JavaScript heap still holds then
 * (one line on stderr), which, unlike the RSS, does not depend on when the GC last ran.
 */
'use strict';
process.on('SIGUSR2', () => {
  // Twice: the first pass may leave objects that only a finalizer or weak reference released.
  globalThis.gc();
  globalThis.gc();
  const { heapUsed, heapTotal, external } = process.memoryUsage();
  process.stderr.write(`vaultpilot-bench: collected ${JSON.stringify({ heapUsed, heapTotal, external })}\n`);
});
