// Test helper: a TCP port on 127.0.0.1 for a server a test (or benchmark) starts as a child.

import net from 'node:net';

/** A port that was free a moment ago on 127.0.0.1 (for children that cannot listen on port 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
