/**
 * Validators of a quality gate: checks of each example's content that need no model. `python` and
 * `json` look at the fenced code blocks of the example's text (an example without such a block
 * passes: there is nothing broken in it); `regex` at its text; `http` asks a service of the user's.
 * Python is checked by Python's own parser (one `python3` process per model call, for all its
 * examples' blocks), and with `ruff: true` by Ruff's default rules too.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validatorName, type Validator } from '../config/quality';
import { DataSetGeneratorError, ModelError } from '../errors';

/** A validator that cannot run on this worker (no Python, no Ruff): not the example's fault, so the run stops and says so. */
export class ValidatorUnavailableError extends DataSetGeneratorError {
  constructor(message: string) {
    super(message, 'configuration_error');
  }
}

/** The fenced code blocks of `text` whose language is one of `langs` (lower case). */
export function fencedBlocks(text: string, langs: readonly string[]): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/```[ \t]*([\w+-]*)[^\n]*\n([\s\S]*?)```/g)) if (langs.includes((m[1] ?? '').toLowerCase())) out.push(m[2] ?? '');
  return out;
}

const PYTHON_LANGS = ['python', 'py', 'python3'];

/** Python's own parser over `sources`: for each, undefined when it parses, else the error (`SyntaxError: ... (line n)`). */
const PARSE_SCRIPT = `
import ast, json, sys
out = []
for src in json.load(sys.stdin):
    try:
        ast.parse(src)
        out.append(None)
    except SyntaxError as e:
        out.append(f"{type(e).__name__}: {e.msg} (line {e.lineno})")
    except Exception as e:
        out.append(f"{type(e).__name__}: {e}")
json.dump(out, sys.stdout)
`;

/** Runs `cmd` with `input` on stdin; resolves with its exit code and output, rejects when it cannot start. */
function run(cmd: string, args: string[], input: string, signal?: AbortSignal): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(signal ? { signal } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // a process that exits before reading all of stdin
    child.stdin.end(input);
  });
}

/** Python to use: `DEEPFABRIC_VALIDATOR_PYTHON`, else `python3`. */
const pythonBin = () => process.env.DEEPFABRIC_VALIDATOR_PYTHON || 'python3';
/** Ruff to use: `DEEPFABRIC_VALIDATOR_RUFF`, else `ruff` on the PATH. */
const ruffBin = () => process.env.DEEPFABRIC_VALIDATOR_RUFF || 'ruff';

async function pythonParseErrors(sources: string[], signal?: AbortSignal): Promise<(string | undefined)[]> {
  if (!sources.length) return [];
  let r;
  try {
    r = await run(pythonBin(), ['-c', PARSE_SCRIPT], JSON.stringify(sources), signal);
  } catch (err) {
    throw new ValidatorUnavailableError(
      `validator python: cannot run ${pythonBin()} on this worker (${(err as Error).message}); install Python 3 or set DEEPFABRIC_VALIDATOR_PYTHON to its path`,
    );
  }
  if (r.code !== 0) throw new ValidatorUnavailableError(`validator python: ${pythonBin()} failed: ${r.stderr.trim().slice(0, 300)}`);
  return (JSON.parse(r.stdout) as (string | null)[]).map((e) => e ?? undefined);
}

/** Ruff's findings per source (undefined: clean), all sources in one Ruff run. */
async function ruffErrors(sources: string[], signal?: AbortSignal): Promise<(string | undefined)[]> {
  if (!sources.length) return [];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'deepfabric-ruff-'));
  try {
    await Promise.all(sources.map((s, i) => fs.writeFile(path.join(dir, `block_${i}.py`), s)));
    let r;
    try {
      r = await run(ruffBin(), ['check', '--isolated', '--no-cache', '--output-format', 'json', dir], '', signal);
    } catch (err) {
      throw new ValidatorUnavailableError(
        `validator python (ruff: true): cannot run ${ruffBin()} on this worker (${(err as Error).message}); pip install ruff, or set DEEPFABRIC_VALIDATOR_RUFF to its path`,
      );
    }
    if (r.code !== 0 && r.code !== 1)
      throw new ValidatorUnavailableError(`validator python (ruff: true): ${ruffBin()} failed: ${r.stderr.trim().slice(0, 300)}`);
    const found = JSON.parse(r.stdout || '[]') as { filename: string; code: string | null; message: string; location?: { row: number } }[];
    const out: (string | undefined)[] = sources.map(() => undefined);
    for (const f of found) {
      const i = Number(/block_(\d+)\.py$/.exec(f.filename)?.[1]);
      if (Number.isInteger(i) && out[i] === undefined) out[i] = `ruff ${f.code ?? 'error'}: ${f.message} (line ${f.location?.row ?? '?'})`;
    }
    return out;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** One example to validate: its text (content filters' text) and the record as it will be written. */
export interface ValidatedExample {
  text: string;
  record: unknown;
}

/**
 * Each validator's verdict on each example: `failures[v][i]` is why example `i` failed validator
 * `v` (undefined: passed). Python is run once per validator for every block of every example.
 */
export async function runValidators(
  validators: readonly Validator[],
  examples: readonly ValidatedExample[],
  signal?: AbortSignal,
): Promise<(string | undefined)[][]> {
  const out: (string | undefined)[][] = [];
  for (const v of validators) {
    switch (v.type) {
      case 'python': {
        const blocks = examples.map((e) => fencedBlocks(e.text, PYTHON_LANGS));
        const flat = blocks.flat();
        const parse = await pythonParseErrors(flat, signal);
        const lint = v.ruff
          ? await ruffErrors(
              flat.map((s, i) => (parse[i] ? '' : s)),
              signal,
            )
          : [];
        let at = 0;
        out.push(
          blocks.map((bs) => {
            let why: string | undefined;
            bs.forEach((_, j) => (why ??= parse[at + j] ?? lint[at + j]));
            at += bs.length;
            return why && `block ${why}`;
          }),
        );
        break;
      }
      case 'json':
        out.push(
          examples.map((e) => {
            for (const b of fencedBlocks(e.text, ['json'])) {
              try {
                JSON.parse(b);
              } catch (err) {
                return `block does not parse: ${(err as Error).message}`;
              }
            }
            return undefined;
          }),
        );
        break;
      case 'regex': {
        const re = new RegExp(v.pattern, 'u');
        out.push(examples.map((e) => (re.test(e.text) ? undefined : `does not match /${v.pattern}/`)));
        break;
      }
      case 'http':
        out.push(await Promise.all(examples.map((e) => askService(v, e.record, signal))));
        break;
    }
  }
  return out;
}

/**
 * POSTs `{ record }` to the validator's URL; its `{ valid, reason }` is the verdict. A service that
 * cannot be reached or answers otherwise fails the call (retried under the run's policy), never the example.
 */
async function askService(v: Extract<Validator, { type: 'http' }>, record: unknown, signal?: AbortSignal): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(v.timeoutSeconds * 1000);
  let res: Response;
  try {
    res = await fetch(v.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ record }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    throw new ModelError(`validator ${validatorName(v)}: ${v.url} did not answer (${(err as Error).message})`, {
      category: signal?.aborted ? 'timeout' : 'server_error',
      provider: `validator ${validatorName(v)}`,
    });
  }
  const body = (await res.json().catch(() => undefined)) as { valid?: unknown; reason?: unknown } | undefined;
  if (!res.ok || typeof body?.valid !== 'boolean') {
    throw new ModelError(`validator ${validatorName(v)}: ${v.url} answered ${res.status} without {"valid": true|false}`, {
      category: 'server_error',
      provider: `validator ${validatorName(v)}`,
      status: res.status,
    });
  }
  return body.valid ? undefined : typeof body.reason === 'string' && body.reason ? body.reason.slice(0, 300) : 'rejected by the service';
}
