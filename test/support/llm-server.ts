import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LlmBatches } from './llm-batches';

/**
 * A local stand-in for OpenAI's `/v1/chat/completions` and Anthropic's `/v1/messages`, spoken over
 * real HTTP so production code uses the real SDK clients. Answers are synthesised from the JSON
 * schema in the request (`response_format.json_schema.schema` or the forced tool's `input_schema`),
 * so every conversation type works. Per test it can be told to be slow or to fail in every way a
 * provider fails, and it counts what it answered.
 */

export type Outcome = 'ok' | '429' | '500' | '401' | 'hang' | 'bad_json' | 'bad_schema';

export interface Behaviour {
  /** Delay before each answer, in ms. */
  latencyMs: number;
  /** Per-call delay instead of `latencyMs`: given the call's record (its batch and call headers). */
  latencyFor: ((call: CallRecord) => number) | undefined;
  /** Probability of each failure kind per call (the rest answer ok). */
  failureRates: Partial<Record<Exclude<Outcome, 'ok'>, number>>;
  /** Outcomes for the next calls, consumed in order before rates apply. */
  script: Outcome[];
  /** Seconds sent in `retry-after` with a 429. */
  retryAfterSeconds: number;
  /** When set, any other API key gets a 401. */
  acceptKey: string | undefined;
  /** Minimum length of generated string fields (pads text, for content-filter tests). */
  minTextLength: number;
  /** Per-example text length: called with the call number and the example's index in the batch. */
  textLength: ((callNo: number, itemIndex: number) => number) | undefined;
  /** Seed of the failure dice, so a test's failures are repeatable. */
  seed: number;
  /** Custom answer for a call (return undefined for the schema-made default). */
  respond: ((call: { prompt: string; callNo: number; schema: unknown }) => unknown) | undefined;
  /**
   * Text that reads like a model's (questions and answers about the prompt's topics, varied by the
   * seeded dice) instead of unique placeholders; for the quickstart, where people look at the data.
   */
  realistic: boolean;
  /** A provider's limit: more than this many accepted requests in any sliding minute are answered 429. */
  requestsPerMinute: number | undefined;
  /** A token limit: a call arriving while the tokens of the calls accepted in the last minute reach this is answered 429. */
  tokensPerMinute: number | undefined;
  /**
   * Announce `requestsPerMinute` in every answer's headers as the providers do (OpenAI
   * `x-ratelimit-limit-requests` / `-remaining-requests`, Anthropic `anthropic-ratelimit-requests-limit`
   * / `-remaining`). Default true; false: a provider that only answers 429.
   */
  announceLimit: boolean;
  /** An outcome chosen by the call's batch header (`<runId>/<batchIndex>`), before scripts and rates; undefined: the usual dice. */
  outcomeForBatch: ((batch: string | undefined) => Outcome | undefined) | undefined;
  /**
   * Answer a field that may be null (`anyOf [X, null]`, pydantic's Optional in OpenAI strict mode)
   * with null, as a model leaves the optional parts of a schema empty; false: fill it in.
   */
  optionalAsNull: boolean | ((field: string, prompt: string) => boolean);
  /** Arrays answered empty, by field name (a model's tool calls; DeepFabric's graph `connections`). */
  emptyArrays: string[];
  /** The fewest items of an array answered (within the schema's maxItems): 1 answers `minItems: 1` with one item. */
  minArrayItems: number;
}

export interface CallRecord {
  no: number;
  protocol: 'openai' | 'anthropic';
  outcome: Outcome;
  batch: string | undefined;
  /** The call's index within its batch (`x-deepfabric-call`), when the batch runs several calls. */
  call: number | undefined;
  model: string;
  startedAt: number;
  endedAt: number | undefined;
  prompt: string;
  /** The usage the server reported for this call (0 for calls answered with an error status). */
  inputTokens: number;
  outputTokens: number;
}

const DEFAULTS: Behaviour = {
  latencyMs: 0,
  latencyFor: undefined,
  failureRates: {},
  script: [],
  retryAfterSeconds: 1,
  acceptKey: undefined,
  minTextLength: 0,
  textLength: undefined,
  seed: 42,
  respond: undefined,
  requestsPerMinute: undefined,
  tokensPerMinute: undefined,
  announceLimit: true,
  outcomeForBatch: undefined,
  realistic: false,
  optionalAsNull: false,
  minArrayItems: 1,
  emptyArrays: ['tool_calls'],
};

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  minItems?: number;
  maxItems?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  /** A reference into the root schema's `$defs` / `definitions` (pydantic's schemas, DeepFabric's). */
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  minLength?: number;
};

export class LlmTestServer {
  private server: http.Server | undefined;
  private behaviour: Behaviour = { ...DEFAULTS };
  private random = mulberry32(DEFAULTS.seed);
  private readonly hanging = new Set<http.ServerResponse>();
  private inFlight = 0;
  private strings = 0;
  private exampleIndex = 0;
  /** Every call, in arrival order. */
  readonly calls: CallRecord[] = [];
  /** Accepted request times within the last minute (for `requestsPerMinute`). */
  private accepted: number[] = [];
  /** Tokens of the calls accepted within the last minute (for `tokensPerMinute`), by acceptance time. */
  private acceptedTokens: { at: number; tokens: number }[] = [];
  /** Most calls in flight at once since the last `reset()`. */
  maxConcurrent = 0;
  url = '';
  /** OpenAI's Files + Batches and Anthropic's Message Batches, answered with this server's answers (llm-batches.ts). */
  readonly batches = new LlmBatches(
    (protocol, body, callNo) => this.answerFor(protocol, body, callNo),
    () => this.url,
  );

  /** Starts listening on 127.0.0.1 (port 0 = any free port). */
  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject); // EADDRINUSE is an answer, not a crash
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  /** Base URL for the openai SDK (`baseURL`) and for OPENAI_BASE_URL. */
  get openaiBaseUrl(): string {
    return `${this.url}/v1`;
  }
  /** Base URL for the Anthropic SDK (`baseURL`) and for ANTHROPIC_BASE_URL. */
  get anthropicBaseUrl(): string {
    return this.url;
  }

  /** Changes behaviour for the calls that follow; unspecified fields keep their value. */
  configure(b: Partial<Behaviour>): void {
    this.behaviour = { ...this.behaviour, ...b, script: [...(b.script ?? this.behaviour.script)] };
    if (b.seed !== undefined) this.random = mulberry32(b.seed);
  }

  /** Back to defaults, counters cleared. */
  reset(): void {
    this.behaviour = { ...DEFAULTS, script: [] };
    this.accepted = [];
    this.acceptedTokens = [];
    this.random = mulberry32(DEFAULTS.seed);
    this.calls.length = 0;
    this.maxConcurrent = 0;
    this.batches.reset();
    this.releaseHanging();
  }

  /** Calls by outcome. */
  count(outcome?: Outcome): number {
    return outcome ? this.calls.filter((c) => c.outcome === outcome).length : this.calls.length;
  }

  async stop(): Promise<void> {
    this.releaseHanging();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private releaseHanging(): void {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
  }

  private pickOutcome(): Outcome {
    const scripted = this.behaviour.script.shift();
    if (scripted) return scripted;
    const roll = this.random();
    let acc = 0;
    for (const [kind, rate] of Object.entries(this.behaviour.failureRates)) {
      acc += rate ?? 0;
      if (roll < acc) return kind as Outcome;
    }
    return 'ok';
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.batches.handles(req)) {
      const reply = await this.batches.route(req, Buffer.concat(chunks));
      if (reply.text !== undefined) {
        res.writeHead(reply.status, { 'content-type': 'application/jsonl', 'content-length': Buffer.byteLength(reply.text) });
        return void res.end(reply.text);
      }
      return this.send(res, reply.status, reply.json);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return this.send(res, 400, { error: { message: 'request body is not JSON' } });
    }
    // Counts for people and scripts measuring from outside (e.g. which run's calls reached the server).
    if (req.method === 'GET' && req.url === '/_calls') {
      const byBatch: Record<string, number> = {};
      for (const c of this.calls) {
        const run = c.batch?.slice(0, c.batch.lastIndexOf('/')) ?? '(none)';
        byBatch[run] = (byBatch[run] ?? 0) + 1;
      }
      return this.send(res, 200, { calls: this.calls.length, byRun: byBatch });
    }
    const protocol = req.url?.startsWith('/v1/messages') ? 'anthropic' : req.url?.startsWith('/v1/chat/completions') ? 'openai' : undefined;
    if (!protocol || req.method !== 'POST') return this.send(res, 404, { error: { message: `no route ${req.method} ${req.url}` } });

    // Anthropic's SDK sends its key as x-api-key or (1.x) as a bearer token, as OpenAI's does.
    const bearer = String(req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    const key = protocol === 'anthropic' ? String(req.headers['x-api-key'] ?? bearer) : bearer;
    let outcome = this.behaviour.outcomeForBatch?.(req.headers['x-deepfabric-batch'] as string | undefined) ?? this.pickOutcome();
    if (this.behaviour.acceptKey !== undefined && key !== this.behaviour.acceptKey) outcome = '401';
    let limitRetryAfter: number | undefined;
    if (outcome === 'ok' && this.behaviour.requestsPerMinute !== undefined) {
      const now = Date.now();
      while (this.accepted.length && this.accepted[0]! <= now - 60_000) this.accepted.shift();
      if (this.accepted.length >= this.behaviour.requestsPerMinute) {
        outcome = '429';
        limitRetryAfter = Math.max(1, Math.ceil((this.accepted[0]! + 60_000 - now) / 1000));
      } else this.accepted.push(now);
    }
    const tpm = this.behaviour.tokensPerMinute;
    if (outcome === 'ok' && tpm !== undefined) {
      const now = Date.now();
      while (this.acceptedTokens.length && this.acceptedTokens[0]!.at <= now - 60_000) this.acceptedTokens.shift();
      let used = this.acceptedTokens.reduce((a, t) => a + t.tokens, 0);
      if (used >= tpm) {
        outcome = '429';
        // When enough of the minute's tokens have left it.
        let i = 0;
        while (i < this.acceptedTokens.length - 1 && used >= tpm) used -= this.acceptedTokens[i++]!.tokens;
        limitRetryAfter = Math.max(1, Math.ceil((this.acceptedTokens[Math.max(0, i - 1)]!.at + 60_000 - now) / 1000));
      }
    }

    const prompt = promptOf(protocol, body);
    const record: CallRecord = {
      no: this.calls.length + 1,
      protocol,
      outcome,
      batch: req.headers['x-deepfabric-batch'] as string | undefined,
      call: req.headers['x-deepfabric-call'] === undefined ? undefined : Number(req.headers['x-deepfabric-call']),
      model: String(body.model ?? ''),
      startedAt: Date.now(),
      endedAt: undefined,
      prompt,
      inputTokens: 0,
      outputTokens: 0,
    };
    this.calls.push(record);
    this.inFlight++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.inFlight);
    res.on('close', () => {
      this.inFlight--;
      record.endedAt = Date.now();
    });

    const rpm = this.behaviour.requestsPerMinute;
    const remaining = rpm === undefined ? 0 : Math.max(0, rpm - this.accepted.length);
    const limitHeaders: Record<string, string> = !this.behaviour.announceLimit
      ? {}
      : {
          ...(rpm === undefined
            ? {}
            : protocol === 'openai'
              ? { 'x-ratelimit-limit-requests': String(rpm), 'x-ratelimit-remaining-requests': String(remaining), 'x-ratelimit-reset-requests': '1s' }
              : { 'anthropic-ratelimit-requests-limit': String(rpm), 'anthropic-ratelimit-requests-remaining': String(remaining) }),
          ...(tpm === undefined
            ? {}
            : protocol === 'openai'
              ? { 'x-ratelimit-limit-tokens': String(tpm) }
              : { 'anthropic-ratelimit-tokens-limit': String(tpm) }),
        };
    const latency = this.behaviour.latencyFor ? this.behaviour.latencyFor(record) : this.behaviour.latencyMs;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (outcome === 'hang') {
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
      return;
    }
    if (outcome === '401') return this.sendError(res, protocol, 401, 'authentication_error', 'Incorrect API key provided');
    if (outcome === '429') {
      return this.sendError(res, protocol, 429, 'rate_limit_error', 'Rate limit reached', {
        'retry-after': String(limitRetryAfter ?? this.behaviour.retryAfterSeconds),
        ...limitHeaders,
      });
    }
    if (outcome === '500') return this.sendError(res, protocol, 500, 'api_error', 'Internal server error');

    const answer = this.answerFor(protocol, body, record.no, outcome === 'bad_json' ? 'bad_json' : outcome === 'bad_schema' ? 'bad_schema' : 'ok');
    record.inputTokens = answer.inputTokens;
    record.outputTokens = answer.outputTokens;
    if (tpm !== undefined) this.acceptedTokens.push({ at: record.startedAt, tokens: answer.inputTokens + answer.outputTokens });
    return this.send(res, 200, answer.body, limitHeaders);
  }

  /**
   * The provider's answer to one request body (a live call's or a batch line's): the message built
   * from the request's JSON schema (or `respond`), its usage, as OpenAI or Anthropic send it.
   */
  answerFor(
    protocol: 'openai' | 'anthropic',
    body: Record<string, unknown>,
    callNo: number,
    outcome: 'ok' | 'bad_json' | 'bad_schema' = 'ok',
  ): { body: Record<string, unknown>; inputTokens: number; outputTokens: number } {
    const prompt = promptOf(protocol, body);
    const schema = schemaOf(protocol, body);
    let answer: unknown =
      this.behaviour.respond?.({ prompt, callNo, schema }) ??
      (schema
        ? ((this.topics = topicsOf(prompt)), (this.rootSchema = schema), (this.prompt = prompt), this.instance(schema, callNo, 'root', 0))
        : { text: 'hello' });
    if (outcome === 'bad_schema') answer = { examples: [{ unexpected: true }] };
    const text = outcome === 'bad_json' ? '{"examples": [ {"messages": oops' : JSON.stringify(answer);
    const inputTokens = Math.ceil(prompt.length / 4);
    const outputTokens = Math.ceil(text.length / 4);
    const model = String(body.model ?? '');
    if (protocol === 'openai') {
      return {
        inputTokens,
        outputTokens,
        body: {
          id: `chatcmpl-${callNo}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [{ index: 0, finish_reason: 'stop', logprobs: null, message: { role: 'assistant', content: text, refusal: null } }],
          usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens },
        },
      };
    }
    const toolName = (body.tools as { name: string }[] | undefined)?.[0]?.name ?? 'answer';
    return {
      inputTokens,
      outputTokens,
      body: {
        id: `msg_${callNo}`,
        type: 'message',
        role: 'assistant',
        model,
        stop_reason: 'tool_use',
        stop_sequence: null,
        content: outcome === 'bad_json' ? [{ type: 'text', text }] : [{ type: 'tool_use', id: `toolu_${callNo}`, name: toolName, input: answer }],
        usage: { input_tokens: inputTokens, output_tokens: outputTokens },
      },
    };
  }

  /** The prompt of the call being answered. */
  private prompt = '';

  /** The schema of the call being answered: where `$ref`s point. */
  private rootSchema: JsonSchema = {};

  /** The schema a `$ref` names (`#/$defs/Name`, `#/definitions/Name`), merged with the referring schema's own keys. */
  private resolve(schema: JsonSchema): JsonSchema {
    let s = schema;
    for (let hops = 0; s.$ref && hops < 32; hops++) {
      const { $ref, ...rest } = s;
      const target = $ref
        .replace(/^#\//, '')
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], this.rootSchema) as JsonSchema | undefined;
      if (!target) throw new Error(`the request's schema has an unresolvable $ref ${$ref}`);
      s = { ...target, ...rest };
    }
    if (s.allOf?.length) {
      const { allOf, ...rest } = s;
      s = allOf.reduce<JsonSchema>((acc, part) => {
        const r = this.resolve(part);
        return { ...acc, ...r, properties: { ...acc.properties, ...r.properties } };
      }, rest);
    }
    return s;
  }

  /** Builds a value that satisfies `schema`; strings are unique per call and position. */
  private instance(given: JsonSchema, callNo: number, name: string, index: number): unknown {
    const schema = this.resolve(given);
    // A union: its first member that is not null (pydantic writes Optional[X] as anyOf [X, null]).
    const union = schema.anyOf ?? schema.oneOf;
    if (union?.length) {
      const nullable = union.some((m) => this.resolve(m).type === 'null');
      // A message's content is text even where the schema allows null (a model writes it).
      const asNull = this.behaviour.optionalAsNull;
      if (nullable && name !== 'content' && (typeof asNull === 'function' ? asNull(name, this.prompt) : asNull)) return null;
      return this.instance(union.find((m) => this.resolve(m).type !== 'null') ?? union[0]!, callNo, name, index);
    }
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) {
      if (name === 'role' && schema.enum.includes('user') && schema.enum.includes('assistant')) {
        return index % 2 === 0 ? 'user' : 'assistant';
      }
      return schema.enum[0];
    }
    const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = this.instance(v, callNo, k, index);
        return out;
      }
      case 'array': {
        const n = this.behaviour.emptyArrays.includes(name)
          ? 0
          : Math.min(Math.max(schema.minItems ?? 2, this.behaviour.minArrayItems), schema.maxItems ?? Infinity);
        return Array.from({ length: n }, (_, i) => {
          if (name === 'examples') this.exampleIndex = i;
          return this.instance(schema.items ?? { type: 'string' }, callNo, name, i);
        });
      }
      case 'integer':
        return index + 1;
      case 'number':
        return 0.5;
      case 'boolean':
        return true;
      default: {
        if (name.endsWith('_json')) return name === 'parameters_json' ? '{"type":"object","properties":{}}' : '{}';
        if (this.behaviour.realistic) return this.realisticText(name, index);
        const base = `${name} #${++this.strings} of call ${callNo}`;
        const want = this.behaviour.textLength?.(callNo, this.exampleIndex) ?? this.behaviour.minTextLength;
        return base.length >= want ? base : base + ' ' + 'lorem ipsum '.repeat(Math.ceil((want - base.length) / 12)).slice(0, want - base.length - 1);
      }
    }
  }

  /** The prompt's topics (`a -> b -> c` paths, their last part), for realistic text. */
  private topics: string[] = [];

  /** A question (user turns, `question`) or an answer (the rest) about the current example's topic. */
  private realisticText(name: string, index: number): string {
    const topic = this.topics.length ? this.topics[this.exampleIndex % this.topics.length]! : 'this subject';
    const pick = (list: readonly string[]) => list[Math.floor(this.random() * list.length)]!;
    const asking = name === 'question' || (name === 'content' && index % 2 === 0);
    if (asking) return `${pick(OPENERS)} ${pick(ACTIONS)} ${topic} ${pick(SITUATIONS)}?`;
    const steps = [pick(STARTS).replace('{t}', topic), pick(DETAILS).replace('{t}', topic), pick(TIPS)];
    return steps.join(' ');
  }

  private sendError(
    res: http.ServerResponse,
    protocol: 'openai' | 'anthropic',
    status: number,
    type: string,
    message: string,
    headers: Record<string, string> = {},
  ): void {
    const body = protocol === 'openai' ? { error: { message, type, code: null, param: null } } : { type: 'error', error: { type, message } };
    this.send(res, status, body, headers);
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }
}

function promptOf(protocol: 'openai' | 'anthropic', body: Record<string, unknown>): string {
  const messages = (body.messages as { role: string; content: unknown }[] | undefined) ?? [];
  const text = messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
  return protocol === 'anthropic' && typeof body.system === 'string' ? `${body.system}\n${text}` : text;
}

function schemaOf(protocol: 'openai' | 'anthropic', body: Record<string, unknown>): JsonSchema | undefined {
  if (protocol === 'openai') {
    const rf = body.response_format as { json_schema?: { schema?: JsonSchema } } | undefined;
    return rf?.json_schema?.schema;
  }
  const tools = body.tools as { input_schema?: JsonSchema }[] | undefined;
  return tools?.[0]?.input_schema;
}

/** The last part of each `a -> b -> c` topic path in a prompt, in order. */
function topicsOf(prompt: string): string[] {
  const out: string[] = [];
  for (const m of prompt.matchAll(/([^\n:"]+?(?: -> [^\n"]+?)+)(?=["\n]|$)/g))
    out.push(
      m[1]!
        .split(' -> ')
        .pop()!
        .trim()
        .replace(/[.,;]+$/, ''),
    );
  return out;
}

const OPENERS = [
  'How do I',
  'What is the best way to',
  'Can you show me how to',
  'Why is it hard to',
  'When should I',
  'What are the trade-offs when I',
] as const;
const ACTIONS = [
  'use',
  'debug',
  'test',
  'speed up code that uses',
  'explain',
  'avoid common mistakes with',
  'refactor code around',
  'choose between the options for',
] as const;
const SITUATIONS = [
  'in a small script',
  'in a production service',
  'when the input gets large',
  'in my first real project',
  'inside a tight loop',
  'with type hints everywhere',
  'in a data pipeline',
  'when several threads are involved',
  'in code other people will maintain',
] as const;
const STARTS = [
  'Start with the smallest example of {t} you can run, and check its output before adding anything.',
  'A good way in is to write down what you expect {t} to do, then compare it with what it actually does.',
  'Think of {t} as a tool with one job: keep that job in one small, well-named function.',
  'Most problems with {t} come from hidden state, so make the inputs and outputs explicit.',
  'Begin by reading the documentation section on {t}; the examples there cover the usual cases.',
] as const;
const DETAILS = [
  'Then add one case at a time and keep a test for each, so a later change cannot break it silently.',
  'Measure before you optimise: a profiler shows where the time goes, and it is rarely where you guess.',
  'Print intermediate values (or use a debugger) at the boundary where the data first looks wrong.',
  'Prefer the standard library first; reach for a dependency only when it clearly saves work.',
  'Keep the code that touches files or the network apart from the logic, so the logic stays easy to test.',
  'Write the happy path first, then handle empty input, very large input and invalid values.',
] as const;
const TIPS = [
  'A common pitfall is mutating shared state from two places.',
  'Name things after what they mean, not how they are stored.',
  'If the code needs a long comment to explain it, a smaller function usually reads better.',
  'Edge cases worth a test: nothing, one item, and far too many.',
  'When in doubt, make the simple version work and refine it with real data.',
  'Check the error message first: it usually names the exact line and value.',
] as const;
