// Fake rpicam-vid / libcamera-vid for tests: checks its argv like the real tool and streams an H.264 test clip.
//
// Environment:
//   FAKE_CAMERA_ARGV_FILE    append the argv of every start to this file (one JSON array per line)
//   FAKE_CAMERA_SOURCE       Annex B file to stream (default: testcard/testcard.h264), looped
//   FAKE_CAMERA_DIE_AFTER    seconds after which the camera exits with FAKE_CAMERA_EXIT_CODE (default 1)
//   FAKE_CAMERA_STALL_AFTER  seconds after which no more frames are written (the process keeps running)
//   FAKE_CAMERA_STAGES       comma-separated post-processing stages it "has" (default: annotate_cv);
//                            a stage missing here is reported on stderr the way rpicam-apps does, and ignored
//
// It deliberately does not use the project's H.264 parser: a test double that shares the code
// under test would hide that code's bugs. Access units are found with the simplest rule that
// holds for rpicam-vid and the test card: a new access unit starts at an AUD, SPS, PPS or SEI
// that follows a slice, or at a slice whose first_mb_in_slice is 0.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const tool = path.basename(process.argv[1] || 'rpicam-vid');

/** Options this fake understands: name → 'flag' | 'int' | 'string' | 'number'. */
const OPTIONS = {
  timeout: 'int', nopreview: 'flag', codec: 'string', inline: 'flag', intra: 'int', flush: 'flag',
  width: 'int', height: 'int', framerate: 'number', vflip: 'flag', hflip: 'flag', rotation: 'int',
  'post-process-file': 'string', output: 'string',
};
const SHORT = { t: 'timeout', n: 'nopreview', o: 'output' };

function fail(message) {
  // rpicam-apps reports option errors from boost::program_options like this.
  process.stderr.write(`ERROR: *** ${message} ***\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let name;
    let inline;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    } else if (arg.startsWith('-') && arg.length >= 2) {
      name = SHORT[arg[1]];
      if (!name) fail(`unrecognised option '${arg}'`);
      inline = arg.length > 2 ? arg.slice(2) : undefined;
    } else {
      fail(`too many positional options have been specified on the command line`);
    }
    const kind = OPTIONS[name];
    if (!kind) fail(`unrecognised option '${arg}'`);
    if (kind === 'flag') {
      // Boolean options take an optional value (--vflip 1 is also accepted by the real tool).
      if (inline !== undefined) opts[name] = inline !== '0' && inline !== 'false';
      else if (argv[i + 1] === '0' || argv[i + 1] === '1') opts[name] = argv[++i] === '1';
      else opts[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i + 1 >= argv.length) fail(`the required argument for option '--${name}' is missing`);
      value = argv[++i];
    }
    if (kind === 'int' && !/^-?\d+$/.test(value)) fail(`the argument ('${value}') for option '--${name}' is invalid`);
    if (kind === 'number' && !/^\d+(\.\d+)?$/.test(value)) fail(`the argument ('${value}') for option '--${name}' is invalid`);
    opts[name] = kind === 'string' ? value : Number(value);
  }
  return opts;
}

/** Splits an Annex B buffer into access units (see the rule in the header). */
function splitAccessUnits(buf) {
  const nals = [];
  let i = 0;
  while (i + 3 <= buf.length) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      const start = i > 0 && buf[i - 1] === 0 ? i - 1 : i;
      nals.push({ start, header: i + 3 });
      i += 3;
    } else i++;
  }
  const units = [];
  let auStart = nals.length ? nals[0].start : 0;
  let sawSlice = false;
  for (const nal of nals) {
    const type = buf[nal.header] & 0x1f;
    const isSlice = type === 1 || type === 5;
    const firstMbZero = isSlice && (buf[nal.header + 1] & 0x80) !== 0;
    const startsUnit = sawSlice && ((type >= 6 && type <= 9) || firstMbZero);
    if (startsUnit) {
      units.push(buf.subarray(auStart, nal.start));
      auStart = nal.start;
      sawSlice = false;
    }
    if (isSlice) sawSlice = true;
  }
  if (sawSlice) units.push(buf.subarray(auStart));
  return units;
}

function main() {
  const argv = process.argv.slice(2);
  if (process.env.FAKE_CAMERA_ARGV_FILE) {
    fs.appendFileSync(process.env.FAKE_CAMERA_ARGV_FILE, JSON.stringify(argv) + '\n');
  }
  const opts = parseArgs(argv);
  if (opts.codec !== undefined && opts.codec !== 'h264' && opts.codec !== 'libav') fail(`Unrecognised codec ${opts.codec}`);
  if (opts.rotation !== undefined && opts.rotation !== 0 && opts.rotation !== 180) {
    fail('transforms requiring transpose not supported');
  }
  const stages = (process.env.FAKE_CAMERA_STAGES ?? 'annotate_cv').split(',').filter(Boolean);
  if (opts['post-process-file'] !== undefined) {
    let config;
    try {
      config = JSON.parse(fs.readFileSync(opts['post-process-file'], 'utf8'));
    } catch (e) {
      fail(`failed to read post-processing file ${opts['post-process-file']}: ${e.message}`);
    }
    for (const stage of Object.keys(config)) {
      if (!stages.includes(stage)) process.stderr.write(`No postprocessing stage found for "${stage}"\n`);
    }
  }
  const fps = opts.framerate || 30;
  const source = process.env.FAKE_CAMERA_SOURCE || path.join(__dirname, '..', '..', 'testcard', 'testcard.h264');
  const units = splitAccessUnits(fs.readFileSync(source));
  if (units.length === 0) fail(`no access units in ${source}`);
  const out = opts.output === undefined || opts.output === '-' ? null : fs.openSync(opts.output, 'w');
  process.stderr.write(`[0:00:00.000] INFO ${tool} (fake): streaming ${path.basename(source)}, ${units.length} frames looped at ${fps} fps\n`);

  const started = performance.now();
  const dieAfter = Number(process.env.FAKE_CAMERA_DIE_AFTER || 0) * 1000;
  const stallAfter = Number(process.env.FAKE_CAMERA_STALL_AFTER || 0) * 1000;
  const timeout = opts.timeout || 0;
  let index = 0;
  process.stdout.on('error', () => process.exit(0)); // EPIPE: the reader went away, as the real tool would stop
  const tick = () => {
    const elapsed = performance.now() - started;
    if (dieAfter && elapsed >= dieAfter) {
      process.stderr.write('ERROR: *** failed to dequeue buffer (fake camera died on request) ***\n');
      process.exit(Number(process.env.FAKE_CAMERA_EXIT_CODE || 1));
    }
    if (timeout && elapsed >= timeout) process.exit(0);
    if (stallAfter && elapsed >= stallAfter) {
      setTimeout(tick, 100);
      return;
    }
    // Write every frame that is due now, then sleep until the next one: no drift over hours.
    while (index * 1000 / fps <= elapsed) {
      const unit = units[index % units.length];
      if (out === null) process.stdout.write(unit);
      else fs.writeSync(out, unit);
      index++;
    }
    setTimeout(tick, Math.max(0, index * 1000 / fps - (performance.now() - started)));
  };
  tick();
}

main();
