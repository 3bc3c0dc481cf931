// The detect worker thread: loads customize.ts and answers calls of detect(), one at a time.
import { parentPort, workerData } from 'node:worker_threads';
import { HookError, loadDetect, type DetectFunction } from './hook.js';
import type { CallMessage, WorkerMessage, WorkerSetup } from './protocol.js';

const port = parentPort!;
const post = (message: WorkerMessage): void => port.postMessage(message);
// Stacks of a throwing detect() then point at lines of customize.ts, not of jiti's translation.
process.setSourceMapsEnabled(true);

const { file } = workerData as WorkerSetup;
let detect: DetectFunction | undefined;
try {
  detect = await loadDetect(file);
} catch (err) {
  post({ type: 'load-error', message: err instanceof HookError ? err.message : `failed to load: ${String(err)}` });
}

if (detect) {
  const hook = detect;
  port.on('message', (message: CallMessage) => {
    void (async () => {
      try {
        // No argument at all for no-image, as the original called detect().
        const value = await (message.frame ? hook(message.frame) : hook());
        post({ type: 'answer', seq: message.seq, value: Boolean(value) });
      } catch (err) {
        post({ type: 'threw', seq: message.seq, error: err instanceof Error ? (err.stack ?? String(err)) : `non-error thrown: ${String(err)}` });
      }
    })();
  });
  post({ type: 'ready' });
}
