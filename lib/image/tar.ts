// tar-stream's surface as the store uses it (the package ships no types).
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';

const require = createRequire(import.meta.url);

export interface TarHeader {
  name: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  mtime?: Date;
  type?: 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo' | 'contiguous-file' | 'pax-header' | 'pax-global-header' | 'gnu-long-link-path' | 'gnu-long-path' | null;
  linkname?: string | null;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string> | null;
  uname?: string;
  gname?: string;
}

export interface TarEntry extends Readable {
  header: TarHeader;
}

export interface TarExtract extends Writable, AsyncIterable<TarEntry> {}

export interface TarPack extends Readable {
  entry(header: TarHeader, data?: Buffer | string, cb?: (err?: Error | null) => void): Writable;
  finalize(): void;
}

const tarStream = require('tar-stream') as { extract(opts?: object): TarExtract; pack(opts?: object): TarPack };

export const extract = (): TarExtract => tarStream.extract();
export const pack = (): TarPack => tarStream.pack();
