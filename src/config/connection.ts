/**
 * Where this process connects, read in one place: Temporal's own environment configuration
 * (`@temporalio/envconfig`: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS and
 * its certificate variables, TEMPORAL_GRPC_META_*, and the profiles of temporal.toml chosen with
 * TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE, as the `temporal` CLI reads them), plus this project's
 * DEEPFABRIC_STORE and DEEPFABRIC_TASK_QUEUE. No address: the data folder's embedded dev server.
 */
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow';
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { ConfigurationError } from '../errors';

type Env = Record<string, string | undefined>;

/** Options for `Connection.connect` / `NativeConnection.connect` (address, TLS, API key, gRPC metadata). */
export interface ClusterConnection {
  address: string;
  tls?: boolean | TLSConfig;
  apiKey?: string;
  metadata?: Record<string, string>;
}

export interface ConnectionSettings {
  /** The cluster to use; undefined: the embedded dev server of the data folder. */
  cluster: ClusterConnection | undefined;
  namespace: string;
  /** DEEPFABRIC_STORE: the PostgreSQL run store (undefined: the data folder). */
  storeUrl: string | undefined;
  /** DEEPFABRIC_TASK_QUEUE: a cluster's shared task queue. */
  taskQueue: string | undefined;
}

let cached: { key: string; settings: ConnectionSettings } | undefined;

const KEYS = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_PROFILE',
  'TEMPORAL_CONFIG_FILE',
  'DEEPFABRIC_STORE',
  'DEEPFABRIC_TASK_QUEUE',
];

/** The connection settings of `env` (read once per distinct set of these variables). */
export function connectionSettings(env: Env = process.env): ConnectionSettings {
  const key = KEYS.map((k) => env[k] ?? '\0').join('\n');
  if (cached?.key === key) return cached.settings;
  let profile;
  try {
    profile = loadClientConfigProfile(env === process.env ? {} : { overrideEnvVars: env as Record<string, string> });
  } catch (err) {
    throw new ConfigurationError(`Temporal connection settings (TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE): ${(err as Error).message}`);
  }
  const { connectionOptions, namespace } = toClientOptions(profile);
  const address = connectionOptions.address?.trim() || undefined;
  const settings: ConnectionSettings = {
    cluster: address
      ? {
          address,
          ...(connectionOptions.tls !== undefined && connectionOptions.tls !== null ? { tls: connectionOptions.tls } : {}),
          ...(connectionOptions.apiKey ? { apiKey: connectionOptions.apiKey } : {}),
          ...(connectionOptions.metadata ? { metadata: connectionOptions.metadata as Record<string, string> } : {}),
        }
      : undefined,
    namespace: namespace || 'default',
    storeUrl: env.DEEPFABRIC_STORE?.trim() || undefined,
    taskQueue: env.DEEPFABRIC_TASK_QUEUE?.trim() || undefined,
  };
  cached = { key, settings };
  return settings;
}
