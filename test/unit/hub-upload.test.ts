import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { datasetCard, hubRow, sizeCategory, uploadToHub } from '../../src/dataset/hub-upload';
import { ConfigurationError, DataSetGeneratorError } from '../../src/errors';
import { startHubServer, type HubServer } from '../support/hub-server';

const TOKEN = 'hf_localTestToken123';
const records = [
  {
    messages: [
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: '4' },
    ],
    reasoning: { style: 'freetext', content: 'add them' },
  },
  {
    messages: [
      { role: 'user', content: 'Capital of France?' },
      { role: 'assistant', content: 'Paris' },
    ],
    reasoning: { style: 'freetext', content: 'recall' },
  },
];

function datasetFile(lines: unknown[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'hub-'));
  const file = path.join(dir, 'data.jsonl');
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

describe('Hugging Face upload', () => {
  let hub: HubServer;
  afterEach(async () => hub?.close());

  test('creates the dataset repo and commits the data and a card; large files go through LFS', async () => {
    hub = await startHubServer({ token: TOKEN, lfsThreshold: 100 });
    const out = await uploadToHub({
      repo: 'someone/math-qa',
      token: TOKEN,
      datasetFile: datasetFile(records),
      tags: ['math'],
      hubUrl: hub.url,
      settings: { provider: 'openai', model: 'gpt-4o-mini', conversationType: 'cot', numSamples: 2, tokens: { input: 10, output: 20 } },
    });
    expect(out.records).toBe(2);
    const files = hub.repos.get('someone/math-qa')!;
    expect([...files.keys()].sort()).toEqual(['README.md', 'data/train.jsonl']);
    const rows = files
      .get('data/train.jsonl')!
      .toString('utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Nested objects are JSON strings on the Hub; parsing them back gives the records exactly.
    expect(rows.map((r) => ({ ...r, reasoning: JSON.parse(r.reasoning) }))).toEqual(records);
    expect(hub.requests.some((r) => r.path.endsWith('/info/lfs/objects/batch'))).toBe(true);
    expect(hub.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toHaveLength(2);
    const card = files.get('README.md')!.toString('utf8');
    expect(card).toMatch(/^---\ntags:\n- "deepfabric"\n- "synthetic"\n- "math"\nsize_categories:\n- n<1K\n/);
    expect(card).toContain('path: data/train.jsonl');
    expect(card).toContain('| model | gpt-4o-mini |');
    expect(card).toContain('`reasoning` hold JSON strings');
    expect(card).not.toContain(TOKEN);
    expect(hub.requests.every((r) => !r.body.includes(TOKEN))).toBe(true);
  });

  test('a second upload to an existing repo replaces the files without creating it again', async () => {
    hub = await startHubServer({ token: TOKEN });
    await uploadToHub({ repo: 'someone/ds', token: TOKEN, datasetFile: datasetFile(records), hubUrl: hub.url });
    await uploadToHub({ repo: 'someone/ds', token: TOKEN, datasetFile: datasetFile(records.slice(0, 1)), hubUrl: hub.url });
    expect(hub.requests.filter((r) => r.path === '/api/repos/create')).toHaveLength(1);
    expect(hub.repos.get('someone/ds')!.get('data/train.jsonl')!.toString('utf8').trim().split('\n')).toHaveLength(1);
  });

  test('a wrong token is refused by the Hub and named in the error; bad input is refused before any request', async () => {
    hub = await startHubServer({ token: TOKEN });
    const file = datasetFile(records);
    await expect(uploadToHub({ repo: 'someone/ds', token: 'hf_wrong', datasetFile: file, hubUrl: hub.url })).rejects.toThrow(DataSetGeneratorError);
    const before = hub.requests.length;
    await expect(uploadToHub({ repo: 'no-slash', token: TOKEN, datasetFile: file, hubUrl: hub.url })).rejects.toThrow(
      /huggingface.repository: "no-slash" is not owner\/name/,
    );
    await expect(uploadToHub({ repo: 'a/b', token: 'sk-123', datasetFile: file, hubUrl: hub.url })).rejects.toThrow(/starts with "hf_"/);
    await expect(uploadToHub({ repo: 'a/b', token: TOKEN, datasetFile: file + '.missing', hubUrl: hub.url })).rejects.toThrow(ConfigurationError);
    expect(hub.requests.length).toBe(before);
  });

  test('size categories and rows', () => {
    expect([999, 1000, 54_321, 250_000].map(sizeCategory)).toEqual(['n<1K', '1K<n<10K', '10K<n<100K', '100K<n<1M']);
    expect(hubRow({ messages: [], tools: [{ type: 'function' }], metadata: 'already' })).toEqual({
      messages: [],
      tools: '[{"type":"function"}]',
      metadata: 'already',
    });
    const card = datasetCard({ repo: 'a/b', records: 5, tags: ['x'], settings: { topicPrompt: 'a | b\nc' }, nested: [], dataPath: 'data/train.jsonl' });
    expect(card).toContain('| topic prompt | a \\| b c |');
  });
});
