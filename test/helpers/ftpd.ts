// Test helper: a real FTP (or explicit FTPS) server on 127.0.0.1: pyftpdlib with one user and a temporary root.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTmp, removeTmp, terminate } from './env.js';

// Debian's python3-pyftpdlib and python3-openssl belong to /usr/bin/python3 (not a pyenv python first on PATH).
const PYTHON = '/usr/bin/python3';

// The server: one user (all permissions, MFMT included), TLS on demand with a self-signed
// certificate generated once per helper (kept across restarts, so a pinned fingerprint stays valid).
// Binding port 0 and printing the port makes the start race-free.
const SERVER = String.raw`
import datetime, hashlib, json, logging, os, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer

cfg = json.loads(sys.argv[1])
fingerprint = ''
if cfg['tls']:
    from pyftpdlib.handlers import TLS_FTPHandler
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    if not os.path.exists(cfg['cert']):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'pancake-test-ftps')])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                .sign(key, hashes.SHA256()))
        with open(cfg['key'], 'wb') as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        with open(cfg['cert'], 'wb') as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(cfg['cert'], 'rb') as f:
        der = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)
    fingerprint = ':'.join('%02X' % b for b in hashlib.sha256(der).digest())
    from pyftpdlib.handlers import TLS_DTPHandler

    class DataHandler(TLS_DTPHandler):
        # pyftpdlib 1.5.7 (Debian 12) drops a data connection that has input before the transfer
        # command, which is exactly the TLS ClientHello of clients that secure the data connection
        # first (basic-ftp, curl). Later pyftpdlib releases fixed it the same way: keep reading
        # while the handshake runs.
        def readable(self):
            return True if self._ssl_accepting else super().readable()

    handler = TLS_FTPHandler
    handler.dtp_handler = DataHandler
    handler.certfile = cfg['cert']
    handler.keyfile = cfg['key']
    handler.tls_control_required = True
    handler.tls_data_required = True
    # Clients resume the control connection's TLS session on data connections (basic-ftp does);
    # OpenSSL refuses resumption on a context without a session id context.
    handler.get_ssl_context().set_session_id(b'pancake-test-ftpd')
else:
    handler = FTPHandler
authorizer = DummyAuthorizer()
authorizer.add_user(cfg['user'], cfg['password'], cfg['root'], perm='elradfmwMT')
handler.authorizer = authorizer
# The default 3 s pause after a failed login only slows tests down.
handler.auth_failed_timeout = 0.1
# DEBUG logs every command received, so tests can tell what a client did (and did not) send.
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
server = FTPServer(('127.0.0.1', cfg['port']), handler)
print('READY', server.socket.getsockname()[1], fingerprint, flush=True)
server.serve_forever()
`;

export interface FtpdOptions {
  /** Explicit FTPS (AUTH TLS required on control and data) with a self-signed certificate. */
  tls?: boolean;
}

/** A running test FTP server. */
export interface FtpServer {
  host: '127.0.0.1';
  port: number;
  user: string;
  password: string;
  /** The user's home: relative remote paths land here. */
  root: string;
  /** SHA-256 fingerprint of the TLS certificate (`AB:CD:...`), '' without TLS. */
  fingerprint: string;
  /** Everything the server logged so far (every command received, as `<- CMD args`). */
  log(): string;
  /** Stops the server, keeping its files: the destination is "down". */
  down(): Promise<void>;
  /** Starts it again on the same port. */
  up(): Promise<void>;
  /** Stops the server and removes its files. Idempotent. */
  stop(): Promise<void>;
}

/** Starts pyftpdlib; call `stop()` in afterEach. */
export async function startFtpd(options: FtpdOptions = {}): Promise<FtpServer> {
  const base = makeTmp('pancake-ftpd-');
  const root = path.join(base, 'root');
  fs.mkdirSync(root);
  const cfg = {
    user: 'camera',
    password: 'pw-' + Math.random().toString(36).slice(2),
    root,
    port: 0,
    tls: options.tls ?? false,
    cert: path.join(base, 'cert.pem'),
    key: path.join(base, 'key.pem'),
  };
  let child: ChildProcess | undefined;
  let logText = '';

  const start = (): Promise<{ port: number; fingerprint: string }> =>
    new Promise((resolve, reject) => {
      const proc = spawn(PYTHON, ['-c', SERVER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let out = '';
      proc.stderr!.on('data', (d: Buffer) => {
        logText += d.toString();
        if (logText.length > 4_000_000) logText = logText.slice(-1_000_000);
      });
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^READY (\d+) ?(\S*)\n/m.exec(out);
        if (m) resolve({ port: Number(m[1]), fingerprint: m[2] ?? '' });
      });
      proc.on('error', reject);
      proc.on('exit', (code, signal) => reject(new Error(`pyftpdlib exited (${code ?? signal}) while starting: ${logText.slice(-2000)}`)));
    });
  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    await terminate(proc);
  };

  let started: { port: number; fingerprint: string };
  try {
    started = await start();
  } catch (err) {
    await halt();
    removeTmp(base);
    throw err;
  }
  cfg.port = started.port;
  return {
    host: '127.0.0.1',
    port: started.port,
    user: cfg.user,
    password: cfg.password,
    root,
    fingerprint: started.fingerprint,
    log: () => logText,
    down: halt,
    async up() {
      await halt();
      await start();
    },
    async stop() {
      await halt();
      removeTmp(base);
    },
  };
}
