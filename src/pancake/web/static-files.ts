// Serving static/: a request path maps to a regular file inside the folder, or to nothing.
import fs from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
};

/**
 * The file under `root` for the part of a URL path after "/static/", or undefined. The path is
 * percent-decoded once; any "..", ".", empty or hidden segment, backslash or NUL is refused
 * outright (no normalising them away), and the result must still lie inside `root`.
 */
export function resolveStatic(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.includes('%')) return undefined;
  const segments = decoded.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return undefined;
  const full = path.resolve(root, ...segments);
  if (!full.startsWith(path.resolve(root) + path.sep)) return undefined;
  return full;
}

/** The Content-Type for a file name. */
export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Reads a regular file (never a directory, never through a symlink), or undefined. */
export function readStatic(file: string): Buffer | undefined {
  try {
    const stat = fs.lstatSync(file);
    if (!stat.isFile()) return undefined;
    return fs.readFileSync(file);
  } catch {
    return undefined;
  }
}
