// A postproc stand-in for benchmarks: acknowledges every event (so pancake's outbox path runs as in production) and counts them by kind.
import net from 'node:net';

export interface BenchEventSink {
  /** Events received, by kind: "file", "camera down", "storage error", … */
  kinds: Map<string, number>;
  close(): void;
}

/** Listens on the abstract socket "\0" + name. */
export async function startBenchEventSink(name: string): Promise<BenchEventSink> {
  const kinds = new Map<string, number>();
  const server = net.createServer((s) => {
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (t: string) => {
      buf += t;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const event = JSON.parse(buf.slice(0, nl)) as { id: string; camera?: string; h264?: string; storage?: string };
        buf = buf.slice(nl + 1);
        const kind = event.h264 ? 'file' : event.camera ? `camera ${event.camera}` : event.storage ? `storage ${event.storage}` : 'other';
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        s.write(JSON.stringify({ ack: event.id }) + '\n');
      }
    });
  });
  await new Promise<void>((r) => server.listen({ path: `\0${name}` }, r));
  return { kinds, close: () => server.close() };
}
