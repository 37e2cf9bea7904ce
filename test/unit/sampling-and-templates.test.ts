import { branchesOf, pathIndexForExample, type SamplingPlan } from '../../src/topics/sampling';
import { renderTemplate, unknownVariables } from '../../src/prompts/template';
import { renderBatchPrompt } from '../../src/prompts/batch-prompt';

const paths = [
  ['Root', 'A', 'a1'],
  ['Root', 'A', 'a2'],
  ['Root', 'A', 'a3'],
  ['Root', 'A', 'a4'],
  ['Root', 'A', 'a5'],
  ['Root', 'B', 'b1'],
  ['Root', 'B', 'b2'],
  ['Root', 'C', 'c1'],
];
const plan = (p: Partial<SamplingPlan>): SamplingPlan => ({ strategy: 'sequential', seed: 1, count: paths.length, ...p });
const slots = (pl: SamplingPlan, n: number) => Array.from({ length: n }, (_, i) => pathIndexForExample(pl, i));

describe('sampling', () => {
  it('sequential goes in path order and wraps', () => {
    expect(slots(plan({}), 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0, 1]);
  });
  it('random is repeatable for a seed and differs for another seed', () => {
    const a = slots(plan({ strategy: 'random', seed: 5 }), 50);
    expect(slots(plan({ strategy: 'random', seed: 5 }), 50)).toEqual(a);
    expect(slots(plan({ strategy: 'random', seed: 6 }), 50)).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(4);
    expect(a.every((i) => i >= 0 && i < paths.length)).toBe(true);
  });
  it('balanced gives each top-level branch of unequal size counts within 1', () => {
    const branches = branchesOf(paths);
    expect(branches).toEqual([[0, 1, 2, 3, 4], [5, 6], [7]]);
    for (const n of [7, 30, 31, 100]) {
      const counts = [0, 0, 0];
      for (const i of slots(plan({ strategy: 'balanced', branches }), n)) counts[branches.findIndex((b) => b.includes(i))]!++;
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });
  it('custom follows the precomputed order', () => {
    expect(slots(plan({ strategy: 'custom', order: [7, 7, 2] }), 5)).toEqual([7, 7, 2, 7, 7]);
  });
});

describe('templates', () => {
  it('substitutes topic, context, path and user variables', () => {
    const text = renderTemplate('{topic} | {context} | {path} | {audience} | {tone}', { path: ['Py', 'Data', 'Lists'], examples: '' }, { tone: 'dry' });
    expect(text).toBe('Lists | Py -> Data | Py -> Data -> Lists | intermediate learners | dry');
  });
  it('reports unknown variables by name', () => {
    expect(unknownVariables('About {topic} for {audience} in {dialect} at {level}', { level: 'x' })).toEqual(['dialect']);
    expect(unknownVariables('{topic} {context} {examples} {complexity} {content_type}', {})).toEqual([]);
  });
  it('builds a batch prompt with one line per example and the previous validation error', () => {
    const prompt = renderBatchPrompt(
      {
        model: { provider: 'openai', model: 'm' },
        instructions: 'Be concise.',
        systemPrompt: 's',
        temperature: 0.5,
        maxTokens: 100,
        requestTimeoutSeconds: 30,
        conversationType: 'basic',
        sysMsg: true,
        template: 'The example should relate to: {path}',
        templateVars: {},
        fewShot: [],
        filters: {},
      },
      [paths[0]!, paths[5]!],
      'example 1: messages: too short',
    );
    expect(prompt).toContain('Be concise.');
    expect(prompt).toContain('Generate exactly 2');
    expect(prompt).toContain('Example 1: The example should relate to: Root -> A -> a1');
    expect(prompt).toContain('Example 2: The example should relate to: Root -> B -> b1');
    expect(prompt).toContain('previous answer was rejected: example 1: messages: too short');
  });
});
