// Runs an UploadQueue in its own process, so a test can SIGKILL it mid-upload and start it again.
// argv[2]: JSON { stateDir, sshDir, destinations, sftp?, enqueue: string[] }. Prints "UPLOADED <n>" when nothing is pending.
import { systemClock } from '../../../src/common/clock.js';
import { createLogger } from '../../../src/common/log.js';
import type { DestinationSpec } from '../../../src/postproc/upload/destination.js';
import { UploadQueue } from '../../../src/postproc/upload/queue.js';

const config = JSON.parse(process.argv[2]!) as {
  stateDir: string;
  sshDir: string;
  destinations: DestinationSpec[];
  sftp?: { concurrency?: number; chunkSize?: number };
  enqueue: string[];
};
const logger = createLogger({ program: 'queue-child', level: 'debug' });
const queue = new UploadQueue({
  stateDir: config.stateDir,
  destinations: config.destinations,
  clock: systemClock,
  logger,
  maxInMemory: 8,
  sshDir: config.sshDir,
  sshAgent: '',
  ...(config.sftp ? { sftp: config.sftp } : {}),
});
await queue.start();
for (const file of config.enqueue) await queue.enqueue(file);
queue.runNow();
const timer = setInterval(() => {
  if (queue.pending().every((p) => p.count === 0)) {
    clearInterval(timer);
    console.log('UPLOADED');
    void queue.close();
  }
}, 20);
