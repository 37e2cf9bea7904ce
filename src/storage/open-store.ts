/** The store a process uses (see store.ts): PostgreSQL when DEEPFABRIC_STORE is set, else the data folder. */
import { ConfigurationError } from '../errors';
import { FsStore } from './fs-store';
import { PgStore } from './pg-store';
import type { Store } from './store';

/** The store this process uses: PostgreSQL when `url` (DEEPFABRIC_STORE) is set, else the data folder. */
export async function openStore(opts: { dataDir: string; url?: string | undefined }): Promise<Store> {
  const url = opts.url?.trim();
  if (!url) return new FsStore(opts.dataDir);
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new ConfigurationError(`DEEPFABRIC_STORE: "${url.replace(/\/\/[^@/]*@/, '//')}" is not a postgres:// URL; unset it to use the data folder`);
  return PgStore.connect(url);
}
