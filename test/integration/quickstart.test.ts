/**
 * `npm run quickstart` (scripts/quickstart.sh): its local model server takes a free port, never
 * generates against whatever answers on a fixed one, and its data reads like text, with a word
 * saying where it came from.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';

const root = path.join(__dirname, '..', '..');

function quickstart(config: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [path.join(root, 'scripts', 'quickstart.sh'), config], { env: { ...process.env, TEMPORAL_ADDRESS: '', ...env } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

it('runs on a free port with realistic text and says it came from a local test model; a taken port is refused in one line', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quickstart-'));
  const cfg = parse(readFileSync(path.join(root, 'examples', 'quickstart.yaml'), 'utf8')) as { output: Record<string, unknown> };
  cfg.output.num_samples = 10;
  cfg.output.save_as = path.join(dir, 'data', 'out', 'dataset.jsonl'); // under the data folder (outputs are confined)
  writeFileSync(path.join(dir, 'q.yaml'), stringify(cfg));
  const env = { DEEPFABRIC_DATA_DIR: path.join(dir, 'data'), QUICKSTART_LATENCY_MS: '0' };

  const ok = await quickstart(path.join(dir, 'q.yaml'), env);
  expect({ code: ok.code, tail: ok.out.slice(-800) }).toEqual({ code: 0, tail: expect.stringContaining('completed: 10 records') });
  expect(ok.out).toContain('local test model at http://127.0.0.1:');
  const records = readFileSync(path.join(dir, 'data', 'out', 'dataset.jsonl'), 'utf8')
    .trim()
    .split('\n');
  const texts = records.flatMap((l) => (JSON.parse(l) as { messages: { content: string }[] }).messages.slice(1).map((m) => m.content));
  expect(texts.filter((t) => /#\d+ of call/.test(t))).toEqual([]); // no placeholders
  expect(texts.filter((t) => /\?$/.test(t)).length).toBe(records.length); // each user turn asks a question
  expect(new Set(texts).size).toBeGreaterThan(records.length); // varied, not one canned answer

  // A port that is taken: one line naming it, no stack, and nothing generated against whatever listens there.
  const squatter = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => squatter.once('listening', r));
  const port = (squatter.address() as net.AddressInfo).port;
  try {
    const taken = await quickstart(path.join(dir, 'q.yaml'), { ...env, QUICKSTART_LLM_PORT: String(port) });
    expect({ code: taken.code, out: taken.out }).toEqual({ code: 1, out: expect.stringContaining(`port ${port} is taken`) });
    expect(taken.out).not.toMatch(/^\s+at /m);
    expect(taken.out).not.toContain('completed');
  } finally {
    squatter.close();
  }
});
