/**
 * The providers' batch APIs behind one interface: OpenAI's Files + Batches (`/v1/chat/completions`
 * lines in an uploaded JSONL file) and Anthropic's Message Batches. Half the price of live calls,
 * answered within 24 hours. Request lines are built and answers parsed by the live adapters' own
 * `body` and `parse`, so a batch line asks exactly what a live call asks and its answer is read the
 * same way. Errors become `ModelError`s like a live call's.
 */
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { ModelError } from '../errors';
import type { GenerateRequest, GenerateResult } from './provider';

/** What one line asks: a live request without its transport options. */
export type BatchRequest = Omit<GenerateRequest, 'signal' | 'timeoutMs' | 'headers'>;

export interface BatchLine {
  /** Unique within the batch: `[A-Za-z0-9_-]{1,64}` (Anthropic's rule, kept for both). */
  customId: string;
  request: BatchRequest;
}

/** Counts of a provider batch's lines by state (both providers' words mapped onto one set). */
export interface BatchCounts {
  total: number;
  processing: number;
  succeeded: number;
  errored: number;
  expired: number;
  cancelled: number;
}

/** A provider batch as the provider reports it. */
export interface ProviderBatchState {
  id: string;
  /** The provider's own status word (OpenAI: validating … completed/expired/cancelled; Anthropic: in_progress/canceling/ended). */
  status: string;
  /** No line will change any more: results can be read. */
  ended: boolean;
  counts: BatchCounts;
}

/** One line's result: an answer (parsed as a live call's), or why there is none. */
export type LineResult =
  { customId: string; result: GenerateResult } | { customId: string; error: ModelError; kind: 'errored' | 'expired' | 'cancelled' | 'unusable' };

export interface BatchApi {
  /** Most lines one batch may hold (the provider's limit). */
  readonly maxLines: number;
  /** Most bytes of request lines one batch may hold. */
  readonly maxBytes: number;
  /** Bytes of the lines as they would be sent. */
  size(lines: BatchLine[]): number;
  /** Creates a batch of `lines`, tagged so `find` can see it again. */
  create(lines: BatchLine[], tag: string): Promise<ProviderBatchState>;
  /**
   * A batch created with `tag` since `sinceMs` (with `expect.lines` lines, the first
   * `expect.firstCustomId`), if the provider shows one; batches in `known` belong to others.
   * Throws `AmbiguousBatchError` when several unended batches could be it (Anthropic).
   */
  find(tag: string, expect: { lines: number; firstCustomId: string }, sinceMs: number, known: readonly string[]): Promise<ProviderBatchState | undefined>;
  retrieve(id: string): Promise<ProviderBatchState>;
  cancel(id: string): Promise<ProviderBatchState>;
  /** Every line's result, once the batch has ended. */
  results(id: string): Promise<LineResult[]>;
}

/**
 * Several running provider batches could be the one an interrupted submission made (Anthropic's
 * batches carry no tag): creating another could pay twice, so the submission waits until they end
 * and their lines tell.
 */
export class AmbiguousBatchError extends Error {
  override readonly name = 'AmbiguousBatchError';
  constructor(readonly ids: string[]) {
    super(`an interrupted submission may have made any of the provider batches ${ids.join(', ')}; waiting until they end to tell by their lines`);
  }
}

/** How a provider batch API turns an SDK error into a `ModelError`. */
type Classify = (err: unknown) => ModelError;

/** Lines the providers list batches through, newest first, before giving up on `find`. */
const FIND_PAGES = 20;
/** Clock slack between this machine and the provider when matching creation times. */
const CLOCK_SLACK_MS = 5 * 60_000;

/** What both batch APIs share: SDK calls whose errors become `ModelError`s, as a live call's do. */
abstract class SdkErrors {
  constructor(protected readonly classify: Classify) {}

  protected sdk<T>(fn: () => Promise<T>): Promise<T> {
    return fn().catch((err: unknown) => {
      throw this.classify(err);
    });
  }
}

interface OpenAIAdapter {
  readonly name: string;
  readonly model: string;
  body(req: BatchRequest): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
  parse(completion: OpenAI.Chat.Completions.ChatCompletion): GenerateResult;
}

/** OpenAI: the lines go up as a JSONL file (purpose `batch`), the batch carries the tag in its metadata. */
export class OpenAIBatchApi extends SdkErrors implements BatchApi {
  readonly maxLines = 50_000;
  readonly maxBytes = 200 * 1024 * 1024;
  constructor(
    private readonly client: OpenAI,
    private readonly adapter: OpenAIAdapter,
    classify: Classify,
    private readonly toFile: (text: string) => Promise<unknown>,
  ) {
    super(classify);
  }

  private jsonl(lines: BatchLine[]): string {
    return lines
      .map((l) => JSON.stringify({ custom_id: l.customId, method: 'POST', url: '/v1/chat/completions', body: this.adapter.body(l.request) }) + '\n')
      .join('');
  }

  size(lines: BatchLine[]): number {
    return Buffer.byteLength(this.jsonl(lines));
  }

  async create(lines: BatchLine[], tag: string): Promise<ProviderBatchState> {
    return this.sdk(async () => {
      const file = await this.client.files.create({ file: (await this.toFile(this.jsonl(lines))) as never, purpose: 'batch' });
      const batch = await this.client.batches.create({
        input_file_id: file.id,
        endpoint: '/v1/chat/completions',
        completion_window: '24h',
        metadata: { deepfabric_tag: tag },
      });
      return openaiState(batch);
    });
  }

  async find(
    tag: string,
    _expect: { lines: number; firstCustomId: string },
    sinceMs: number,
    _known: readonly string[],
  ): Promise<ProviderBatchState | undefined> {
    return this.sdk(async () => {
      let page = await this.client.batches.list({ limit: 100 });
      for (let i = 0; i < FIND_PAGES; i++) {
        for (const b of page.data) {
          if (b.metadata?.deepfabric_tag === tag) return openaiState(b);
          if (b.created_at * 1000 < sinceMs - CLOCK_SLACK_MS) return undefined; // older than the attempt: not ours
        }
        if (!page.hasNextPage()) return undefined;
        page = await page.getNextPage();
      }
      return undefined;
    });
  }

  async retrieve(id: string): Promise<ProviderBatchState> {
    return this.sdk(async () => openaiState(await this.client.batches.retrieve(id)));
  }

  async cancel(id: string): Promise<ProviderBatchState> {
    return this.sdk(async () => openaiState(await this.client.batches.cancel(id)));
  }

  async results(id: string): Promise<LineResult[]> {
    const texts = await this.sdk(async () => {
      const batch = await this.client.batches.retrieve(id);
      const files: string[] = [];
      for (const file of [batch.output_file_id, batch.error_file_id]) if (file) files.push(await (await this.client.files.content(file)).text());
      return files;
    });
    const out: LineResult[] = [];
    for (const text of texts)
      for (const raw of text.split('\n')) {
        if (!raw.trim()) continue;
        const line = JSON.parse(raw) as {
          custom_id: string;
          response: { status_code: number; body: unknown } | null;
          error: { code?: string; message?: string } | null;
        };
        out.push(this.lineResult(line));
      }
    return out;
  }

  private lineResult(line: {
    custom_id: string;
    response: { status_code: number; body: unknown } | null;
    error: { code?: string; message?: string } | null;
  }): LineResult {
    const { name, model } = this.adapter;
    const customId = line.custom_id;
    if (line.response && line.response.status_code === 200) {
      try {
        return { customId, result: this.adapter.parse(line.response.body as OpenAI.Chat.Completions.ChatCompletion) };
      } catch (err) {
        return { customId, error: err as ModelError, kind: 'unusable' };
      }
    }
    const code = line.error?.code ?? `HTTP ${line.response?.status_code ?? '?'}`;
    const kind = code === 'batch_expired' ? 'expired' : code === 'batch_cancelled' ? 'cancelled' : 'errored';
    const message = `${name}/${model}: batch line ${customId} ${kind} (${code}: ${line.error?.message ?? 'no message'})`;
    return { customId, kind, error: new ModelError(message, { category: kind === 'errored' ? 'server_error' : 'timeout', provider: name }) };
  }
}

function openaiState(b: OpenAI.Batches.Batch): ProviderBatchState {
  const total = b.request_counts?.total ?? 0;
  const succeeded = b.request_counts?.completed ?? 0;
  const errored = b.request_counts?.failed ?? 0;
  const ended = ['completed', 'expired', 'cancelled', 'failed'].includes(b.status);
  const left = Math.max(0, total - succeeded - errored);
  return {
    id: b.id,
    status: b.status,
    ended,
    counts: {
      total,
      processing: ended ? 0 : left,
      succeeded,
      errored,
      expired: b.status === 'expired' ? left : 0,
      cancelled: b.status === 'cancelled' ? left : 0,
    },
  };
}

interface AnthropicAdapter {
  readonly name: string;
  readonly model: string;
  body(req: BatchRequest): Anthropic.Messages.MessageCreateParamsNonStreaming;
  parse(message: Anthropic.Messages.Message): GenerateResult;
}

/**
 * Anthropic: Message Batches have no metadata, so `find` matches a batch by its creation time
 * (after the attempt began) and its line count, and (once it has ended) by its lines' custom ids.
 */
export class AnthropicBatchApi extends SdkErrors implements BatchApi {
  readonly maxLines = 100_000;
  readonly maxBytes = 256 * 1024 * 1024;
  constructor(
    private readonly client: Anthropic,
    private readonly adapter: AnthropicAdapter,
    classify: Classify,
  ) {
    super(classify);
  }

  private requests(lines: BatchLine[]) {
    return lines.map((l) => ({ custom_id: l.customId, params: this.adapter.body(l.request) }));
  }

  size(lines: BatchLine[]): number {
    return Buffer.byteLength(JSON.stringify({ requests: this.requests(lines) }));
  }

  async create(lines: BatchLine[], _tag: string): Promise<ProviderBatchState> {
    return this.sdk(async () => anthropicState(await this.client.messages.batches.create({ requests: this.requests(lines) })));
  }

  async find(
    _tag: string,
    expect: { lines: number; firstCustomId: string },
    sinceMs: number,
    known: readonly string[],
  ): Promise<ProviderBatchState | undefined> {
    const candidates: ProviderBatchState[] = [];
    try {
      let page = await this.client.messages.batches.list({ limit: 100 });
      outer: for (let i = 0; i < FIND_PAGES; i++) {
        for (const b of page.data) {
          if (Date.parse(b.created_at) < sinceMs - CLOCK_SLACK_MS) break outer;
          const c = b.request_counts;
          if (c.processing + c.succeeded + c.errored + c.canceled + c.expired === expect.lines && !known.includes(b.id)) candidates.push(anthropicState(b));
        }
        if (!page.hasNextPage()) break;
        page = await page.getNextPage();
      }
      // An ended candidate is proven by its lines; one still running is taken when it is the only
      // one (its lines are checked when collected: another run's would not count), several wait.
      for (const c of candidates.filter((x) => x.ended)) {
        const lines = await this.results(c.id);
        if (lines.some((l) => l.customId === expect.firstCustomId)) return c;
      }
      const running = candidates.filter((x) => !x.ended);
      if (running.length > 1) throw new AmbiguousBatchError(running.map((r) => r.id));
      return running[0];
    } catch (err) {
      if (err instanceof AmbiguousBatchError) throw err;
      throw this.classify(err);
    }
  }

  async retrieve(id: string): Promise<ProviderBatchState> {
    return this.sdk(async () => anthropicState(await this.client.messages.batches.retrieve(id)));
  }

  async cancel(id: string): Promise<ProviderBatchState> {
    return this.sdk(async () => anthropicState(await this.client.messages.batches.cancel(id)));
  }

  async results(id: string): Promise<LineResult[]> {
    const out: LineResult[] = [];
    const { name, model } = this.adapter;
    await this.sdk(async () => {
      for await (const line of await this.client.messages.batches.results(id)) {
        const customId = line.custom_id;
        const r = line.result;
        if (r.type === 'succeeded') {
          try {
            out.push({ customId, result: this.adapter.parse(r.message) });
          } catch (err) {
            out.push({ customId, error: err as ModelError, kind: 'unusable' });
          }
          continue;
        }
        const kind = r.type === 'errored' ? 'errored' : r.type === 'expired' ? 'expired' : 'cancelled';
        const why = r.type === 'errored' ? `: ${r.error.error.type} ${r.error.error.message}` : '';
        out.push({
          customId,
          kind,
          error: new ModelError(`${name}/${model}: batch line ${customId} ${kind}${why}`, {
            category: kind === 'errored' ? 'server_error' : 'timeout',
            provider: name,
          }),
        });
      }
    });
    return out;
  }
}

function anthropicState(b: Anthropic.Messages.Batches.MessageBatch): ProviderBatchState {
  const c = b.request_counts;
  return {
    id: b.id,
    status: b.processing_status,
    ended: b.processing_status === 'ended',
    counts: {
      total: c.processing + c.succeeded + c.errored + c.canceled + c.expired,
      processing: c.processing,
      succeeded: c.succeeded,
      errored: c.errored,
      expired: c.expired,
      cancelled: c.canceled,
    },
  };
}
