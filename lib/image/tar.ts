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
  /** tar-stream (3.1.7+): where the entry's data starts in the tar (after its header blocks). */
  byteOffset?: number;
}

export interface TarEntry extends Readable {
  header: TarHeader;
  /** tar-stream: the offset of the entry's (last) header block in the tar. */
  offset: number;
}

export interface TarExtract extends Writable, AsyncIterable<TarEntry> {}

export interface TarPack extends Readable {
  entry(header: TarHeader, data?: Buffer | string, cb?: (err?: Error | null) => void): Writable;
  finalize(): void;
}

const tarStream = require('tar-stream') as { extract(opts?: object): TarExtract; pack(opts?: object): TarPack };

export const extract = (): TarExtract => tarStream.extract();
export const pack = (): TarPack => tarStream.pack();
