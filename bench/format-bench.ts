/**
 * `npm run bench:formats`: what writing a dataset in a named format costs per record, the loss
 * check included (every text of the record looked up in the output), against the format alone.
 * Records of the three shapes runs write most (basic, chain_of_thought, an agent with tools), with
 * texts of realistic length (a 600-character answer, a 900-character reasoning, JSON tool arguments),
 * 20,000 of each (FORMAT_BENCH_RECORDS). CPU time from process.cpuUsage() next to wall time.
 * Writes bench/results/formats.json.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { applyFormatter, FORMATTERS, SAMPLE_RECORDS } from '../src/dataset/formatters';
import { machine } from './stack';

const n = Number(process.env.FORMAT_BENCH_RECORDS ?? 20_000);
const words = (k: number, seed: number) => Array.from({ length: k }, (_, i) => `word${(i * 7 + seed) % 97}`).join(' ');

function recordsOf(type: 'basic' | 'chain_of_thought' | 'agent'): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const r = structuredClone(SAMPLE_RECORDS[type]) as Record<string, unknown> & { messages: { role: string; content: string }[] };
    for (const m of r.messages) if (m.content) m.content = `${m.role} ${i}: ${words(m.role === 'assistant' ? 90 : 20, i)}`;
    if (typeof r.question === 'string') r.question = r.messages.find((m) => m.role === 'user')!.content;
    if (typeof r.final_answer === 'string') r.final_answer = [...r.messages].reverse().find((m) => m.role === 'assistant')!.content;
    const reasoning = r.reasoning as { content: unknown } | undefined;
    if (reasoning && typeof reasoning.content === 'string') reasoning.content = words(130, i);
    return r;
  });
}

/** The drops each format needs on each shape (what its refusal names), so every run below writes records. */
const DROPS: Record<string, string[]> = {
  alpaca: ['system', 'reasoning', 'messages[assistant]', 'tool_context', 'tools', 'messages[tool]'],
  chatml: ['tool_context.executions[].reasoning', 'messages[assistant]', 'reasoning'],
  conversations: ['system', 'reasoning', 'final_answer', 'tool_context', 'tools', 'messages[assistant]'],
  harmony: ['system', 'reasoning', 'final_answer', 'tool_context', 'tools', 'messages[assistant]'],
  openai: ['reasoning', 'final_answer', 'tool_context'],
  sharegpt: ['reasoning', 'final_answer', 'tool_context', 'tools', 'messages[assistant]'],
  trl: [],
};

function measure(fn: () => void): { wallMs: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 };
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const type of ['basic', 'chain_of_thought', 'agent'] as const) {
    const records = recordsOf(type);
    for (const [format, drop] of Object.entries(DROPS)) {
      try {
        applyFormatter(format, records[0]!, { drop });
      } catch {
        continue; // this format does not shape this record type
      }
      const bare = measure(() => records.forEach((r) => FORMATTERS[format]!(r)));
      const checked = measure(() => records.forEach((r) => applyFormatter(format, r, { drop })));
      rows.push({
        type,
        format,
        records: n,
        cpuMicrosPerRecord: Number(((checked.cpuMs * 1000) / n).toFixed(1)),
        wallMicrosPerRecord: Number(((checked.wallMs * 1000) / n).toFixed(1)),
        formatAloneCpuMicrosPerRecord: Number(((bare.cpuMs * 1000) / n).toFixed(1)),
        lossCheckShare: Number((1 - bare.cpuMs / Math.max(checked.cpuMs, 0.001)).toFixed(2)),
      });
    }
  }
  const out = {
    date: new Date().toISOString(),
    machine: machine(),
    node: process.version,
    rows,
  };
  const file = path.join(__dirname, 'results', 'formats.json');
  await fs.writeFile(file, JSON.stringify(out, null, 2) + '\n');
  for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  process.stdout.write(`written to ${file}\n`);
}

void main();
