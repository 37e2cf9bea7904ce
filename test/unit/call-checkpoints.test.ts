/**
 * The cheap per-call checkpoints of a folder store (one appended line per finished call) and the
 * call slots a slice shares among its batches.
 */
import { promises as fs, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CallSlots } from '../../src/activities/call-slots';
import { FsStore } from '../../src/storage/fs-store';

describe('a folder store keeps each finished call as one line of its batch calls log', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'df-calls-'));
  const run = new FsStore(dir).run('r1');
  const log = path.join(dir, 'runs', 'r1', 'shards', 'batch-000003.calls.jsonl');

  it('reads each call back, the latest line of a call winning; a torn last line reads as no checkpoint', async () => {
    await run.writeCall(3, 0, { records: ['a'] });
    await run.writeCall(3, 1, { records: ['b'] });
    await run.writeCall(3, 1000, { step: 1 }, { replace: true });
    await run.writeCall(3, 1000, { step: 2 }, { replace: true });
    expect(await run.readCall(3, 0)).toEqual({ records: ['a'] });
    expect(await run.readCall(3, 1)).toEqual({ records: ['b'] });
    expect(await run.readCall(3, 1000)).toEqual({ step: 2 });
    expect(await run.readCall(3, 2)).toBeUndefined();
    expect((await fs.readFile(log, 'utf8')).trim().split('\n')).toHaveLength(4);
    // A machine that went down mid-write leaves a partial line: that call is made again.
    await fs.appendFile(log, '{"call":2,"outcome":{"records":["c"');
    expect(await run.readCall(3, 2)).toBeUndefined();
    expect(await run.readCall(3, 1)).toEqual({ records: ['b'] });
  });

  it("reads a batch's checkpoints at once: the log's for the calls asked, nothing for the rest", async () => {
    await run.writeCall(9, 0, { records: ['new'] });
    await run.writeCall(9, 1000, { step: 3 }, { replace: true });
    const found = await run.readCalls(9, [0, 4, 5, 1000]);
    expect([...found.entries()].sort(([a], [b]) => a - b)).toEqual([
      [0, { records: ['new'] }],
      [1000, { step: 3 }],
    ]);
  });
});

describe('call slots', () => {
  const gate = () => {
    let open!: () => void;
    const p = new Promise<void>((r) => (open = r));
    return { p, open };
  };

  it('run at most `size` calls at once and hand a freed slot to the longest-waiting call', async () => {
    const slots = new CallSlots(2);
    const gates = [gate(), gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      slots.run(async () => {
        started.push(i);
        await g.p;
        return i;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    expect(slots.busy).toBe(4);
    gates[1]!.open();
    await runs[1];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.open();
    gates[2]!.open();
    gates[3]!.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect(slots.busy).toBe(0);
  });

  it('once closed, waiting and later calls fail with the reason; running calls finish', async () => {
    const slots = new CallSlots(1);
    const g = gate();
    const running = slots.run(async () => {
      await g.p;
      return 'done';
    });
    const waiting = slots.run(async () => 'never');
    const reason = new Error('the key was refused');
    slots.close(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(slots.run(async () => 'later')).rejects.toBe(reason);
    g.open();
    await expect(running).resolves.toBe('done');
  });

  it('refuse a size that is not a positive integer', () => {
    expect(() => new CallSlots(0)).toThrow(/positive integer, got 0/);
  });
});
