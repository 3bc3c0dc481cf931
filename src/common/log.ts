// Logging for both programs: winston to stdout (journald) or to daily files kept 33 days.
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';

export type Logger = winston.Logger;

export interface LogOptions {
  /** Program name put in every line. */
  program: string;
  /** Log file path; files are split at midnight as `<path>.YYYY-MM-DD` and kept 33 days. Stdout when absent. */
  file?: string;
  level?: string;
}

/** Builds the logger a program passes down to its components. */
export function createLogger({ program, file, level = process.env.PANCAKE_LOG_LEVEL ?? 'info' }: LogOptions): Logger {
  const line = winston.format.printf(({ level: lvl, message, timestamp, stack }) => {
    const text = stack && typeof stack === 'string' ? stack : String(message);
    return `${String(timestamp)} ${program} ${lvl}: ${text}`;
  });
  const format = winston.format.combine(winston.format.errors({ stack: true }), winston.format.timestamp(), line);
  const transport = file
    ? new DailyRotateFile({
        filename: `${file}.%DATE%`,
        datePattern: 'YYYY-MM-DD',
        maxFiles: '33d',
        createSymlink: false,
      })
    : new winston.transports.Console();
  const logger = winston.createLogger({ level, format, transports: [transport] });
  // A log that cannot be written (a full disk under --log, a line from a component still closing
  // after shutdown ended the log) must never take the camera down with it.
  logger.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ERR_STREAM_WRITE_AFTER_END') process.stderr.write(`${program}: cannot write the log: ${err.message}\n`);
  });
  return logger;
}
