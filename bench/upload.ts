// Benchmark: a 300 MB upload on loopback: over SFTP to a test sshd, ours (SftpConnector) against
// OpenSSH scp, and to the tests' S3 server (S3Connector, in parts), in the same run.
//
//   npm run bench:upload                      # 300 MB, our defaults vs scp, and S3
//   npm run bench:upload -- --mb 100 --sweep  # also try other fastPut settings
//
// Each upload runs as its own process under bench/lib/measure.ts, so wall time, CPU time and
// peak RSS are those of the uploader alone (ours from the compiled dist/, built first). The server is the OpenSSH sshd of the tests, with
// the same host key, user key and known_hosts for every client. The S3 server is s3rver behind the
// tests' signature check, in this process: it writes each part to disk and joins them at the end,
// which is in the S3 row's wall time (a real service does the same work on its own machines).
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startS3Server } from '../test/helpers/s3-server.js';
import { startSshd } from '../test/helpers/sshd.js';
import { measure, printTable, type Measurement } from './lib/measure.js';

const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const DIST = path.join(ROOT, 'dist');

interface ChildConfig {
  file: string;
  dayDir: string;
  user: string;
  port: number;
  sshDir: string;
  concurrency?: number;
  chunkSize?: number;
}

// Our side runs from the compiled dist/, so neither tsx nor esbuild is in the measurement: one
// upload exactly as the queue does it (connect, mkdir, temporary name, utimes, rename).
const CHILD = `
const config = JSON.parse(process.argv[1]);
const { SftpConnector } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'postproc/upload/sftp.js')).href)});
const { createLogger } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'common/log.js')).href)});
const { statSync } = await import('node:fs');
const { basename, dirname } = await import('node:path');
const logger = createLogger({ program: 'bench-upload', level: 'warn' });
const tuning = {};
if (config.concurrency) tuning.concurrency = config.concurrency;
if (config.chunkSize) tuning.chunkSize = config.chunkSize;
const connector = new SftpConnector(
  { kind: 'scp', user: config.user, host: '127.0.0.1', port: config.port, remoteDir: dirname(config.dayDir) },
  { sshDir: config.sshDir, agent: '', logger, ...tuning },
);
const started = performance.now();
const session = await connector.connect();
await session.upload(config.file, config.dayDir, basename(config.file), statSync(config.file).mtimeMs);
await session.close();
// On stderr, which measure() captures (stdout goes to the terminal).
console.error('TRANSFER ' + (performance.now() - started) / 1000);
`;

interface S3ChildConfig {
  file: string;
  endpoint: string;
  region: string;
  keysFile: string;
  dayDir: string;
}

// One S3 upload exactly as the queue does it: look for the object, send it in parts, check its size.
const S3_CHILD = `
const config = JSON.parse(process.argv[1]);
const { S3Connector } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'postproc/upload/s3.js')).href)});
const { createLogger } = await import(${JSON.stringify(pathToFileURL(path.join(DIST, 'common/log.js')).href)});
const { statSync } = await import('node:fs');
const { basename } = await import('node:path');
const logger = createLogger({ program: 'bench-upload', level: 'warn' });
const connector = new S3Connector(
  { kind: 's3', bucket: 'bak', remoteDir: 'cam1', endpoint: config.endpoint, region: config.region, pathStyle: true,
    credentials: { kind: 'secret', ref: 'file:' + config.keysFile } },
  { logger },
);
const started = performance.now();
const session = await connector.connect();
await session.upload(config.file, config.dayDir, basename(config.file), statSync(config.file).mtimeMs);
await session.close();
console.error('TRANSFER ' + (performance.now() - started) / 1000);
`;

function build(): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
  if (!fs.existsSync(path.join(DIST, 'postproc/upload/sftp.js'))) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
}

function writeFile(file: string, mb: number): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(4 << 20);
  for (let left = mb << 20; left > 0; left -= chunk.length) {
    randomFillSync(chunk); // incompressible, like video
    fs.writeSync(fd, chunk, 0, Math.min(left, chunk.length));
  }
  fs.closeSync(fd);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mbIndex = args.indexOf('--mb');
  const mb = mbIndex >= 0 ? Number(args[mbIndex + 1]) : 300;
  const sweep = args.includes('--sweep');

  build();
  const server = await startSshd();
  const s3 = await startS3Server();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pancake-bench-upload-'));
  try {
    const name = '20200624-0900.mp4';
    const file = path.join(work, name);
    writeFile(file, mb);
    const dayDir = path.join(server.root, 'bak', '2020', '06', '24');
    const remote = path.join(dayDir, name);
    const rows: (string | number)[][] = [['uploader', 'seconds', 'MB/s', 'CPU s', 'peak RSS MB', 'note']];
    const results: Record<string, Measurement> = {};

    const clean = (): void => fs.rmSync(path.join(server.root, 'bak'), { recursive: true, force: true });
    const check = (label: string): void => {
      if (!fs.existsSync(remote) || fs.statSync(remote).size !== fs.statSync(file).size) throw new Error(`${label}: the file did not arrive whole`);
    };
    const add = (label: string, m: Measurement, note = ''): void => {
      if (m.status !== 0) throw new Error(`${label} failed (${m.status}): ${m.stderr.slice(-2000)}`);
      check(label);
      results[label] = m;
      rows.push([label, m.wall, mb / m.wall, m.cpu, m.maxRssMb, note]);
      clean();
    };

    const ours = async (label: string, tuning: { concurrency?: number; chunkSize?: number } = {}): Promise<void> => {
      clean();
      const config: ChildConfig = { file, dayDir, user: server.user, port: server.port, sshDir: server.sshDir, ...tuning };
      const m = await measure(process.execPath, ['--input-type=module', '-e', CHILD, JSON.stringify(config)], { cwd: ROOT });
      const transfer = /TRANSFER ([\d.]+)/.exec(m.stderr);
      add(label, m, transfer ? `${(mb / Number(transfer[1])).toFixed(0)} MB/s excluding Node start-up` : '');
    };

    const scp = async (label: string, extra: string[]): Promise<void> => {
      clean();
      fs.mkdirSync(dayDir, { recursive: true });
      const m = await measure('scp', [
        ...extra, '-q', '-P', String(server.port),
        '-i', path.join(server.sshDir, 'id_ed25519'),
        '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${path.join(server.sshDir, 'known_hosts')}`,
        file, `${server.user}@127.0.0.1:${remote}`,
      ]);
      add(label, m, extra.length ? 'legacy scp protocol' : 'SFTP protocol (OpenSSH ≥ 9.0)');
    };

    await scp('OpenSSH scp', []);
    await ours('ours (SftpConnector)');
    await scp('OpenSSH scp -O', ['-O']);

    const oursS3 = async (label: string): Promise<void> => {
      const keysFile = path.join(work, 's3-keys');
      fs.writeFileSync(keysFile, `${s3.accessKeyId}:${s3.secretAccessKey}\n`, { mode: 0o600 });
      const config: S3ChildConfig = { file, endpoint: s3.endpoint, region: s3.region, keysFile, dayDir: 'cam1/2020/06/24' };
      const m = await measure(process.execPath, ['--input-type=module', '-e', S3_CHILD, JSON.stringify(config)], { cwd: ROOT });
      if (m.status !== 0) throw new Error(`${label} failed (${m.status}): ${m.stderr.slice(-2000)}`);
      const stored = s3.objectFile('bak', `cam1/2020/06/24/${name}`);
      if (!stored || fs.statSync(stored).size !== fs.statSync(file).size) throw new Error(`${label}: the object did not arrive whole`);
      const parts = s3.requests.filter((r) => r.method === 'PUT' && r.query.includes('partNumber=')).length;
      const transfer = /TRANSFER ([\d.]+)/.exec(m.stderr);
      results[label] = m;
      rows.push([label, m.wall, mb / m.wall, m.cpu, m.maxRssMb,
        `${parts} parts of 8 MiB, 4 in flight${transfer ? `; ${(mb / Number(transfer[1])).toFixed(0)} MB/s excluding Node start-up` : ''}`]);
    };
    await oursS3('ours (S3Connector)');
    if (sweep) {
      for (const [concurrency, chunkSize] of [[16, 32768], [64, 65536], [128, 32768], [32, 131072]] as const) {
        await ours(`ours concurrency ${concurrency} chunk ${chunkSize / 1024}K`, { concurrency, chunkSize });
      }
    }

    console.log(`\nUpload of ${mb} MB on 127.0.0.1: over SFTP to OpenSSH sshd, and over HTTP to the tests' S3 server (${os.cpus().length} CPUs, ${os.cpus()[0]?.model ?? '?'})\n`);
    printTable(rows);
    const ratio = results['OpenSSH scp']!.wall / results['ours (SftpConnector)']!.wall;
    console.log(`\nthroughput ours / scp: ${ratio.toFixed(2)} (target ≥ 0.5) ${ratio >= 0.5 ? 'OK' : 'BELOW TARGET'}`);
    const s3Ratio = results['ours (SftpConnector)']!.wall / results['ours (S3Connector)']!.wall;
    console.log(`throughput S3 / SFTP (ours): ${s3Ratio.toFixed(2)}`);
  } finally {
    await server.stop();
    await s3.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

await main();
