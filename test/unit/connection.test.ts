/** Connection settings read in one place, from Temporal's environment configuration (src/config/connection.ts). */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connectionSettings } from '../../src/config/connection';
import { ConfigurationError } from '../../src/errors';

let configFile: string;
beforeAll(async () => {
  configFile = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'envconfig-')), 'temporal.toml');
  await fs.writeFile(
    configFile,
    '[profile.default]\nnamespace = "from-file"\n\n[profile.prod]\naddress = "prod.example:7233"\nnamespace = "prod"\napi_key = "k-from-file"\n',
  );
});

it('no address anywhere: the embedded dev server, namespace default', () => {
  expect(connectionSettings({ TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' })).toEqual({
    cluster: undefined,
    namespace: 'default',
    storeUrl: undefined,
    taskQueue: undefined,
  });
});

it('TEMPORAL_ADDRESS means a cluster; an API key turns TLS on; the store and task queue come along', () => {
  const s = connectionSettings({
    TEMPORAL_CONFIG_FILE: configFile,
    TEMPORAL_ADDRESS: 'h:7233',
    TEMPORAL_API_KEY: 'k',
    DEEPFABRIC_STORE: 'postgres://x/y',
    DEEPFABRIC_TASK_QUEUE: 'q',
  });
  expect(s).toEqual({ cluster: { address: 'h:7233', apiKey: 'k', tls: true }, namespace: 'from-file', storeUrl: 'postgres://x/y', taskQueue: 'q' });
});

it('a temporal.toml profile with an address is a cluster too; the environment wins over the file', () => {
  expect(connectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'prod' })).toMatchObject({
    cluster: { address: 'prod.example:7233', apiKey: 'k-from-file', tls: true },
    namespace: 'prod',
  });
  expect(connectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'override' }).namespace).toBe('override');
});

it('a profile that does not exist is a configuration error naming it', () => {
  expect(() => connectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'staging' })).toThrow(ConfigurationError);
  expect(() => connectionSettings({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'staging' })).toThrow(/Profile 'staging' not found/);
});
