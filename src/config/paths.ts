import path from 'node:path';
import { existsSync } from 'node:fs';

/** The package root (where package.json is), from source or from dist/. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

/** The data folder: DEEPFABRIC_DATA_DIR, else ./deepfabric-data. */
export function defaultDataDir(): string {
  return path.resolve(process.env.DEEPFABRIC_DATA_DIR ?? 'deepfabric-data');
}

/** Default task queue of dataset runs. */
export const DEFAULT_TASK_QUEUE = 'deepfabric';

/**
 * The task queue of one workflow in embedded mode: the store's id and the workflow's id, so only a
 * worker of this store that was asked for this run polls it (issue 18, issue 24).
 */
export function embeddedTaskQueue(storeId: string, workflowId: string): string {
  return `deepfabric/${storeId.slice(0, 8)}/${workflowId}`;
}
