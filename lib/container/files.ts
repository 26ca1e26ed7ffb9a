// copyIn/copyOut, what Container and ContainerRef both offer (testcontainers'
// copyFilesToContainer / copyArchiveToContainer / copyArchiveFromContainer).
import type { Readable } from 'node:stream';
import { type CopyInOptions, copyInArchive, copyInFile } from './copy-in.js';
import { copyOutFile, copyOutTar } from './copy-out.js';
import type { FilesSource } from './files-root.js';

export type { CopyInOptions } from './copy-in.js';
export type { FilesSource } from './files-root.js';

export interface CopyOutOptions {
  /** 'tar' (default): a tar stream of the path (a directory's whole tree); 'file': the bytes of a regular file. */
  format?: 'tar' | 'file';
}

export function copyIn(src: FilesSource, dest: string, source: Buffer | string | Readable, options: CopyInOptions = {}): Promise<void> {
  return options.archive ? copyInArchive(src, dest, source) : copyInFile(src, dest, source, options);
}

export function copyOut(src: FilesSource, path: string, options: CopyOutOptions = {}): Promise<Readable | Buffer> {
  return options.format === 'file' ? copyOutFile(src, path) : copyOutTar(src, path);
}
