/**
 * A real Temporal cluster for tests, as an operator runs one without Docker: the server's four
 * services (frontend, history, matching, worker) as four processes of the `temporal-server` binary
 * built from the Go module proxy (scripts/ensure-temporal-server.sh), on PostgreSQL with the schema
 * set up by its own `temporal-sql-tool`, four history shards, and the dynamic config that
 * docker-compose.yml ships (scripts/compose/dynamicconfig/deepfabric.yaml). Every port is free and
 * every file lives in the test's temp folder. A service can be SIGKILLed and started again.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/worker/dev-server';
import { waitFor } from './temporal';

const run = promisify(execFile);
/** The pinned `temporal` CLI (scripts/ensure-temporal.sh). */
let temporalCli: string | undefined;
const ROOT = path.join(__dirname, '..', '..');

export const SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type Service = (typeof SERVICES)[number];

/** The folder with bin/temporal-server, bin/temporal-sql-tool and schema/ (built once per machine and version). */
export function temporalServerTools(): string {
  return execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-temporal-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export interface ClusterDb {
  host: string;
  port: number;
  user: string;
}

export class TemporalCluster {
  private readonly children = new Map<Service, ChildProcess>();
  readonly address: string;

  private constructor(
    private readonly tools: string,
    private readonly dir: string,
    private readonly configFile: string,
    frontendPort: number,
  ) {
    this.address = `127.0.0.1:${frontendPort}`;
  }

  /** Sets up the schema in `db` (databases temporal and temporal_visibility) and starts the four services. */
  static async start(db: ClusterDb, dir: string): Promise<TemporalCluster> {
    const tools = temporalServerTools();
    mkdirSync(dir, { recursive: true });
    const sql = (database: string, ...args: string[]) =>
      run(path.join(tools, 'bin', 'temporal-sql-tool'), [
        '--plugin',
        'postgres12',
        '--ep',
        db.host,
        '-p',
        String(db.port),
        '-u',
        db.user,
        '--db',
        database,
        ...args,
      ]);
    for (const [database, schema] of [
      ['temporal', 'temporal'],
      ['temporal_visibility', 'visibility'],
    ] as const) {
      await sql(database, 'create');
      await sql(database, 'setup-schema', '-v', '0.0');
      await sql(database, 'update-schema', '-d', path.join(tools, 'schema', 'postgresql', 'v12', schema, 'versioned'));
    }
    const ports: Record<Service, { grpc: number; membership: number }> = {} as never;
    for (const s of SERVICES) ports[s] = { grpc: await freePort(), membership: await freeLowPort() };
    const httpPort = await freePort();
    const configFile = path.join(dir, 'temporal.yaml');
    writeFileSync(configFile, clusterConfig(db, ports, httpPort, path.join(ROOT, 'scripts', 'compose', 'dynamicconfig', 'deepfabric.yaml')));
    const cluster = new TemporalCluster(tools, dir, configFile, ports.frontend.grpc);
    for (const s of SERVICES) cluster.startService(s);
    await cluster.waitServing();
    return cluster;
  }

  /** Starts one service's process (its log appends to <dir>/<service>.log). */
  startService(service: Service): void {
    const log = createWriteStream(path.join(this.dir, `${service}.log`), { flags: 'a' });
    const child = spawn(path.join(this.tools, 'bin', 'temporal-server'), ['--config-file', this.configFile, '--allow-no-auth', 'start', '--service', service], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    this.children.set(service, child);
  }

  /** The services' process ids (for CPU and memory readings). */
  pids(): Record<Service, number | undefined> {
    return Object.fromEntries(SERVICES.map((s) => [s, this.children.get(s)?.pid])) as Record<Service, number | undefined>;
  }

  /** SIGKILL of one service's process; resolves once it is gone. */
  async kill(service: Service): Promise<void> {
    const child = this.children.get(service);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await gone;
  }

  /** The frontend answers, history owns its shards: a namespace can be described or created. */
  async waitServing(timeoutMs = 120_000): Promise<void> {
    await waitFor(
      () =>
        this.cli(['operator', 'cluster', 'health']).then(
          (out) => out.includes('SERVING'),
          () => false,
        ),
      timeoutMs,
      500,
    );
  }

  /** Runs the pinned `temporal` CLI against this cluster; resolves with its stdout. */
  async cli(args: string[]): Promise<string> {
    // Found once (the readiness checks call it every half second).
    temporalCli ??= execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-temporal.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    const { stdout } = await run(temporalCli, [...args, '--address', this.address], { timeout: 30_000 });
    return stdout;
  }

  /** The `default` namespace and the Dataset* search attributes, as the README tells an operator to make them. */
  async createNamespace(): Promise<void> {
    await waitFor(
      () =>
        this.cli(['operator', 'namespace', 'describe', '--namespace', 'default']).then(
          () => true,
          () =>
            this.cli(['operator', 'namespace', 'create', '--namespace', 'default']).then(
              () => false,
              () => false,
            ),
        ),
      120_000,
      1000,
    );
    await waitFor(
      () =>
        this.cli([
          'operator',
          'search-attribute',
          'create',
          '--namespace',
          'default',
          '--name',
          'DatasetName',
          '--type',
          'Keyword',
          '--name',
          'DatasetModel',
          '--type',
          'Keyword',
          '--name',
          'DatasetTarget',
          '--type',
          'Int',
          '--name',
          'DatasetAccepted',
          '--type',
          'Int',
        ]).then(
          () => true,
          () => false,
        ),
      120_000,
      1000,
    );
  }

  async stop(): Promise<void> {
    for (const s of [...SERVICES].reverse()) await this.kill(s);
  }
}

/**
 * A free port below 32768: Temporal keeps membership ports in a PostgreSQL smallint (the kernel's
 * ephemeral ports, which `freePort` gets, are above it).
 */
async function freeLowPort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

function clusterConfig(db: ClusterDb, ports: Record<Service, { grpc: number; membership: number }>, httpPort: number, dynamicConfig: string): string {
  const store = (database: string, conns: number) => `      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "${db.host}:${db.port}"
        connectProtocol: "tcp"
        user: "${db.user}"
        password: ""
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
  const service = (s: Service) => `  ${s}:
    rpc:
      grpcPort: ${ports[s].grpc}
      membershipPort: ${ports[s].membership}
      bindOnLocalHost: true${s === 'frontend' ? `\n      httpPort: ${httpPort}` : ''}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
${store('temporal', 20)}
    postgres-visibility:
${store('temporal_visibility', 4)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: 0
services:
${SERVICES.map(service).join('\n')}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontend.grpc}"
dcRedirectionPolicy:
  policy: "noop"
dynamicConfigClient:
  filepath: "${dynamicConfig}"
  pollInterval: "10s"
`;
}
