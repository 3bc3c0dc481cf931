// Test helper: a real winston logger whose lines are kept in memory, so tests can assert what was logged.
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../../src/common/log.js';

/** A logger plus every line it wrote (`level: message`), at debug level and above. */
export function captureLogger(): { logger: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString().trimEnd());
      done();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.printf(({ level, message }) => `${level}: ${String(message)}`),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines, text: () => lines.join('\n') };
}
