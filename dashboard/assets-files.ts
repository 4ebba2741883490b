/**
 * The files under dashboard/assets/, served at /assets/<name>. Read once, from beside this
 * module in the repository and from dist/assets/ in the package (rolldown.config.js copies
 * them there, next to the chunk this code is bundled into).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

let cache: Map<string, Asset> | undefined;

export function assets(): Map<string, Asset> {
  if (cache) return cache;
  const dir = new URL('./assets/', import.meta.url);
  cache = new Map();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(new URL(name, dir));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`;
    cache.set(name, { body, type, etag });
  }
  return cache;
}
