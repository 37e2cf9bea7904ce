import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const CLI_BIN = path.join(__dirname, '..', '..', 'bin', 'deepfabric.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a CLI run in embedded mode with its data folder under `cwd` (free ports: see global-setup). */
export function cliEnv(cwd: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Embedded mode whatever this machine's Temporal settings: no address, and no temporal.toml profile (which could hold one).
  const { TEMPORAL_PROFILE: _profile, ...rest } = process.env;
  return { ...rest, TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: path.join(cwd, 'no-temporal.toml'), DEEPFABRIC_DATA_DIR: path.join(cwd, 'data'), ...env };
}

/** Starts `deepfabric <args>`; `done` resolves with its exit code and output. */
export function spawnCli(
  args: string[],
  opts: { cwd: string; env?: Record<string, string> },
): { child: ChildProcess; done: Promise<CliResult>; output(): string } {
  const child = spawn(process.execPath, [CLI_BIN, ...args], { cwd: opts.cwd, env: cliEnv(opts.cwd, opts.env) });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done, output: () => stdout + stderr };
}

/** Runs `deepfabric <args>` to its end. */
export function runCli(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<CliResult> {
  return spawnCli(args, opts).done;
}

/** What a test shows when a CLI run did not end as expected: its code and the end of its output. */
export function shown(r: CliResult): { code: number | null; tail: string } {
  return { code: r.code, tail: (r.stdout + r.stderr).slice(-1500) };
}

/** The records of a JSONL file (a dataset or topic file a CLI run wrote). */
export function readJsonl(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
