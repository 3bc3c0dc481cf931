// What ffprobe/ffmpeg and a plain box walk say about an MP4 (test helpers for the muxer's and the converters' tests).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * MD5 of every decoded frame, in output order (`-f framemd5`): equal lists mean identical pictures
 * in identical order. ffmpeg applies an MP4's rotation matrix while decoding; `filter` adds a video filter.
 */
export function frameMd5s(file: string, inputArgs: string[] = [], filter?: string): string[] {
  const vf = filter ? ['-vf', filter] : [];
  const r = spawnSync('ffmpeg', ['-hide_banner', '-v', 'error', ...inputArgs, '-i', file, '-map', '0:v:0', ...vf, '-f', 'framemd5', '-'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`ffmpeg framemd5 failed on ${file}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(',').at(-1)!.trim());
}

/** Stream facts ffprobe reports for the first video stream, counting frames by decoding. */
export function streamFacts(file: string): { frames: number; rFrameRate: string; avgFrameRate: string; duration: number; streamDuration: number; rotation?: number; width: number; height: number } {
  const r = spawnSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries',
    'stream=nb_read_frames,r_frame_rate,avg_frame_rate,duration,width,height:stream_side_data=rotation:format=duration', '-of', 'json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed on ${file}: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as {
    streams: { nb_read_frames: string; r_frame_rate: string; avg_frame_rate: string; duration: string; width: number; height: number; side_data_list?: { rotation?: number }[] }[];
    format: { duration: string };
  };
  const s = j.streams[0]!;
  return {
    frames: Number(s.nb_read_frames), rFrameRate: s.r_frame_rate, avgFrameRate: s.avg_frame_rate, duration: Number(j.format.duration),
    streamDuration: Number(s.duration), rotation: s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation, width: s.width, height: s.height,
  };
}

/** The top-level boxes of a file, in order. */
export function topLevelBoxes(file: string): { type: string; size: number }[] {
  const buf = fs.readFileSync(file);
  const out: { type: string; size: number }[] = [];
  for (let pos = 0; pos + 8 <= buf.length; ) {
    let size = buf.readUInt32BE(pos);
    if (size === 1) size = Number(buf.readBigUInt64BE(pos + 8));
    out.push({ type: buf.toString('latin1', pos + 4, pos + 8), size });
    if (size < 8) break;
    pos += size;
  }
  return out;
}

/** Files in a directory (to show that no temporary file was left behind). */
export function listDir(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}
