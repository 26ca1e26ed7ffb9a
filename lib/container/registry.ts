// Containers seen from any process through the state directory: list them;
// load one (ref.ts) to drive it, or to remove what a crashed owner left.
import fs from 'node:fs/promises';
import type { ContainerState } from '../../types/api.js';
import { StateDir, defaultStateRoot, sweepClaims } from '../state/state-dir.js';
import { type RegistryOptions, currentState } from './ref.js';

export { ContainerRef, loadContainer, type RefExecOptions, type RegistryOptions } from './ref.js';

/** Every container in the state root (live, being created, or left over), sorted by id. */
export async function listContainers(options: RegistryOptions = {}): Promise<ContainerState[]> {
  const root = options.stateRoot ?? defaultStateRoot();
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch {
    return [];
  }
  // Claims a crash left half-made are not containers; their removal is due to no one else.
  await sweepClaims(root, names);
  const out: ContainerState[] = [];
  for (const id of names.filter((n) => !n.startsWith('.')).sort()) {
    try {
      out.push(currentState(await new StateDir(root, id).read()));
    } catch {
      // removed right now
    }
  }
  return out;
}

