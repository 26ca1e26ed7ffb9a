// Where a volume lives in a store (one place, for the store's code and the config's).
//   <store>/volumes/<name>/volume.json, _data/, users/
import path from 'node:path';

export const volumeDir = (storeRoot: string, name: string): string => path.join(storeRoot, 'volumes', name);
export const volumeDataDir = (storeRoot: string, name: string): string => path.join(volumeDir(storeRoot, name), '_data');
