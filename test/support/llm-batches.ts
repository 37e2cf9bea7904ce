import type http from 'node:http';

/**
 * The batch APIs of the local LLM server: OpenAI's Files + Batches (`/v1/files`, `/v1/batches`) and
 * Anthropic's Message Batches (`/v1/messages/batches`), over the same HTTP port, so the product's
 * batch mode runs through the real SDK clients. Each request line is answered by the server's own
 * `answerFor` (the same answers as live calls). A batch's lines finish one after another over
 * `processingMs` (so a batch polled mid-way shows progress, and one cancelled mid-way keeps the lines
 * it finished); lines can error or expire; every batch created is counted and kept.
 */

export type LineOutcome = 'ok' | 'error' | 'expire';

export interface BatchBehaviour {
  /** Time from creation until the last line of a batch is answered. */
  processingMs: number;
  /** Outcome of a line, by its custom_id and its index in the batch (default ok). */
  lineOutcome: ((customId: string, index: number, batchNo: number) => LineOutcome) | undefined;
  /** Refuse batch creation with this status (e.g. 429 "too many enqueued tokens"). */
  createStatus: number | undefined;
  /** Delay before a create request is answered (the batch exists from its arrival): the window a crash test kills in. */
  createDelayMs: number;
}

const BATCH_DEFAULTS: BatchBehaviour = { processingMs: 0, lineOutcome: undefined, createStatus: undefined, createDelayMs: 0 };

type Protocol = 'openai' | 'anthropic';

/** What the server answers a request body with (the server's `answerFor`). */
type Answer = (
  protocol: Protocol,
  body: Record<string, unknown>,
  callNo: number,
) => { body: Record<string, unknown>; inputTokens: number; outputTokens: number };

interface Line {
  customId: string;
  body: Record<string, unknown>;
  outcome: LineOutcome;
  /** When the line is answered (ms since epoch). */
  doneAt: number;
  /** Filled when the line is answered. */
  result?: { body: Record<string, unknown>; inputTokens: number; outputTokens: number };
}

export interface ServerBatch {
  no: number;
  id: string;
  protocol: Protocol;
  createdAt: number;
  endsAt: number;
  metadata: Record<string, string> | undefined;
  inputFileId: string | undefined;
  lines: Line[];
  cancelledAt: number | undefined;
}

/** One JSON answer or a raw text, as the route returns it. */
type Reply = { status: number; json?: unknown; text?: string };

export class LlmBatches {
  private behaviour: BatchBehaviour = { ...BATCH_DEFAULTS };
  /** Every batch created since the last reset, in order: the count a "never twice" test checks. */
  readonly batches: ServerBatch[] = [];
  private readonly files = new Map<string, string>();
  private lineCalls = 0;
  /** Create requests that arrived (a batch each), answered or not. */
  createRequests = 0;

  constructor(
    private readonly answer: Answer,
    private readonly baseUrl: () => string,
  ) {}

  configure(b: Partial<BatchBehaviour>): void {
    this.behaviour = { ...this.behaviour, ...b };
  }

  reset(): void {
    this.createRequests = 0;
    this.behaviour = { ...BATCH_DEFAULTS };
    this.batches.length = 0;
    this.files.clear();
  }

  /** Lines answered (succeeded) across all batches, with their tokens: what a provider bills. */
  billed(): { lines: number; inputTokens: number; outputTokens: number } {
    let lines = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    for (const l of this.batches.flatMap((b) => b.lines)) {
      if (!l.result) continue;
      lines++;
      inputTokens += l.result.inputTokens;
      outputTokens += l.result.outputTokens;
    }
    return { lines, inputTokens, outputTokens };
  }

  /** Every batch not ended finishes now (its lines answered), whatever its processing time: a test's "the next day". */
  finishAll(): void {
    const now = Date.now();
    for (const b of this.batches) {
      if (this.ended(b)) continue;
      b.endsAt = now;
      for (const l of b.lines) l.doneAt = Math.min(l.doneAt, now);
    }
  }

  /** Whether this request is one of the batch routes. */
  handles(req: http.IncomingMessage): boolean {
    const url = req.url ?? '';
    return url.startsWith('/v1/files') || url.startsWith('/v1/batches') || url.startsWith('/v1/messages/batches');
  }

  async route(req: http.IncomingMessage, raw: Buffer): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean); // v1, files|batches|messages, ...
    const m = req.method ?? 'GET';
    const creating = m === 'POST' && ((parts[1] === 'batches' && parts.length === 2) || (parts[1] === 'messages' && parts.length === 3));
    if (creating) {
      this.createRequests++;
      if (this.behaviour.createDelayMs > 0) {
        // The batch is made now and answered late: a client that dies meanwhile never hears its id.
        const reply = this.routeNow(m, parts, req, url, raw);
        await new Promise((r) => setTimeout(r, this.behaviour.createDelayMs));
        return reply;
      }
    }
    return this.routeNow(m, parts, req, url, raw);
  }

  private routeNow(m: string, parts: string[], req: http.IncomingMessage, url: URL, raw: Buffer): Reply {
    try {
      if (parts[1] === 'files') return this.filesRoute(m, parts, req, raw);
      if (parts[1] === 'batches') return this.openaiRoute(m, parts, url, raw);
      return this.anthropicRoute(m, parts, url, raw);
    } catch (err) {
      return { status: 400, json: { error: { type: 'invalid_request_error', message: err instanceof Error ? err.message : String(err) } } };
    }
  }

  private filesRoute(m: string, parts: string[], req: http.IncomingMessage, raw: Buffer): Reply {
    if (m === 'POST' && parts.length === 2) {
      const text = multipartFile(String(req.headers['content-type'] ?? ''), raw);
      const id = `file-${this.files.size + 1}-${Date.now().toString(36)}`;
      this.files.set(id, text);
      return {
        status: 200,
        json: { id, object: 'file', bytes: Buffer.byteLength(text), created_at: now(), filename: 'batch.jsonl', purpose: 'batch', status: 'processed' },
      };
    }
    const text = this.files.get(parts[2] ?? '');
    if (text === undefined) return notFound(`no file ${parts[2]}`);
    if (m === 'GET' && parts[3] === 'content') return { status: 200, text };
    if (m === 'GET') return { status: 200, json: { id: parts[2], object: 'file', bytes: Buffer.byteLength(text), purpose: 'batch', status: 'processed' } };
    return notFound(`no route ${m} ${parts.join('/')}`);
  }

  private create(
    protocol: Protocol,
    requests: { customId: string; body: Record<string, unknown> }[],
    metadata?: Record<string, string>,
    inputFileId?: string,
  ): ServerBatch {
    const created = Date.now();
    const no = this.batches.length + 1;
    const n = requests.length;
    const span = this.behaviour.processingMs;
    const batch: ServerBatch = {
      no,
      id: protocol === 'openai' ? `batch_${no}_${created.toString(36)}` : `msgbatch_${no}_${created.toString(36)}`,
      protocol,
      createdAt: created,
      endsAt: created + span,
      metadata,
      inputFileId,
      cancelledAt: undefined,
      lines: requests.map((r, i) => ({
        customId: r.customId,
        body: r.body,
        outcome: this.behaviour.lineOutcome?.(r.customId, i, no) ?? 'ok',
        doneAt: created + (n > 0 ? Math.round((span * (i + 1)) / n) : 0),
      })),
    };
    this.batches.push(batch);
    return batch;
  }

  /** Answers the lines whose time has come (expired ones never are); a cancelled batch answers none after its cancellation. */
  private advance(b: ServerBatch): void {
    const t = Math.min(Date.now(), b.cancelledAt ?? Infinity);
    for (const l of b.lines) if (!l.result && l.outcome === 'ok' && l.doneAt <= t) l.result = this.answer(b.protocol, l.body, ++this.lineCalls);
  }

  private ended(b: ServerBatch): boolean {
    return b.cancelledAt !== undefined || Date.now() >= b.endsAt;
  }

  private expired(b: ServerBatch): boolean {
    return b.cancelledAt === undefined && this.ended(b) && b.lines.some((l) => l.outcome === 'expire');
  }

  // ---- OpenAI -------------------------------------------------------------------------------

  private openaiRoute(m: string, parts: string[], url: URL, raw: Buffer): Reply {
    if (m === 'POST' && parts.length === 2) {
      if (this.behaviour.createStatus)
        return { status: this.behaviour.createStatus, json: { error: { type: 'rate_limit_error', message: 'batch creation refused' } } };
      const body = JSON.parse(raw.toString('utf8')) as { input_file_id: string; endpoint: string; metadata?: Record<string, string> };
      const text = this.files.get(body.input_file_id);
      if (text === undefined) return notFound(`no file ${body.input_file_id}`);
      const requests = text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { custom_id: string; body: Record<string, unknown> })
        .map((l) => ({ customId: l.custom_id, body: l.body }));
      const ids = new Set(requests.map((r) => r.customId));
      if (ids.size !== requests.length) return { status: 400, json: { error: { message: 'custom_id must be unique within a batch' } } };
      return { status: 200, json: this.openaiBatch(this.create('openai', requests, body.metadata, body.input_file_id)) };
    }
    if (m === 'GET' && parts.length === 2) {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const after = url.searchParams.get('after');
      const newestFirst = [...this.batches].reverse();
      const from = after ? newestFirst.findIndex((b) => b.id === after) + 1 : 0;
      const page = newestFirst.slice(from, from + limit);
      return {
        status: 200,
        json: {
          object: 'list',
          data: page.map((b) => this.openaiBatch(b)),
          first_id: page[0]?.id ?? null,
          last_id: page.at(-1)?.id ?? null,
          has_more: from + limit < newestFirst.length,
        },
      };
    }
    const b = this.batches.find((x) => x.id === parts[2] && x.protocol === 'openai');
    if (!b) return notFound(`no batch ${parts[2]}`);
    if (m === 'POST' && parts[3] === 'cancel') {
      if (!this.ended(b)) b.cancelledAt = Date.now();
      return { status: 200, json: this.openaiBatch(b) };
    }
    if (m === 'GET' && parts.length === 3) return { status: 200, json: this.openaiBatch(b) };
    return notFound(`no route ${m} ${parts.join('/')}`);
  }

  private openaiBatch(b: ServerBatch): Record<string, unknown> {
    this.advance(b);
    const done = b.lines.filter((l) => l.result).length;
    const failed = b.lines.filter((l) => l.outcome === 'error' && l.doneAt <= Math.min(Date.now(), b.cancelledAt ?? Infinity)).length;
    const ended = this.ended(b);
    const elapsed = Date.now() - b.createdAt;
    const span = b.endsAt - b.createdAt;
    const status =
      b.cancelledAt !== undefined
        ? 'cancelled'
        : ended
          ? this.expired(b)
            ? 'expired'
            : 'completed'
          : elapsed < span * 0.1
            ? 'validating'
            : elapsed > span * 0.9
              ? 'finalizing'
              : 'in_progress';
    let outputFileId: string | null = null;
    let errorFileId: string | null = null;
    if (ended) {
      // The output and error files exist once the batch has ended (completed, expired or cancelled).
      outputFileId = `${b.id}-output`;
      errorFileId = `${b.id}-errors`;
      const ok = b.lines.filter((l) => l.result);
      const bad = b.lines.filter((l) => !l.result);
      this.files.set(
        outputFileId,
        ok
          .map(
            (l, i) =>
              JSON.stringify({
                id: `batch_req_${i}`,
                custom_id: l.customId,
                response: { status_code: 200, request_id: `req_${i}`, body: l.result!.body },
                error: null,
              }) + '\n',
          )
          .join(''),
      );
      this.files.set(
        errorFileId,
        bad
          .map((l, i) => {
            const error =
              l.outcome === 'error'
                ? { code: 'server_error', message: 'The server had an error processing this line' }
                : l.outcome === 'expire'
                  ? { code: 'batch_expired', message: 'This request could not be executed before the completion window expired.' }
                  : { code: 'batch_cancelled', message: 'This request was cancelled with its batch.' };
            return JSON.stringify({ id: `batch_req_e${i}`, custom_id: l.customId, response: null, error }) + '\n';
          })
          .join(''),
      );
    }
    const at = (cond: boolean, ms: number) => (cond ? Math.floor(ms / 1000) : null);
    return {
      id: b.id,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      errors: null,
      input_file_id: b.inputFileId ?? '',
      completion_window: '24h',
      status,
      output_file_id: outputFileId,
      error_file_id: errorFileId,
      created_at: Math.floor(b.createdAt / 1000),
      in_progress_at: Math.floor(b.createdAt / 1000),
      expires_at: Math.floor(b.createdAt / 1000) + 86400,
      finalizing_at: at(ended, b.endsAt),
      completed_at: at(status === 'completed', b.endsAt),
      failed_at: null,
      expired_at: at(status === 'expired', b.endsAt),
      cancelling_at: at(b.cancelledAt !== undefined, b.cancelledAt ?? 0),
      cancelled_at: at(b.cancelledAt !== undefined, b.cancelledAt ?? 0),
      request_counts: { total: b.lines.length, completed: done, failed },
      metadata: b.metadata ?? null,
    };
  }

  // ---- Anthropic ----------------------------------------------------------------------------

  private anthropicRoute(m: string, parts: string[], url: URL, raw: Buffer): Reply {
    // parts: v1, messages, batches, [id], [results|cancel]
    if (m === 'POST' && parts.length === 3) {
      if (this.behaviour.createStatus)
        return { status: this.behaviour.createStatus, json: { type: 'error', error: { type: 'rate_limit_error', message: 'batch creation refused' } } };
      const body = JSON.parse(raw.toString('utf8')) as { requests: { custom_id: string; params: Record<string, unknown> }[] };
      const requests = body.requests.map((r) => ({ customId: r.custom_id, body: r.params }));
      if (new Set(requests.map((r) => r.customId)).size !== requests.length)
        return { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'custom_id must be unique' } } };
      return { status: 200, json: this.anthropicBatch(this.create('anthropic', requests)) };
    }
    if (m === 'GET' && parts.length === 3) {
      const limit = Number(url.searchParams.get('limit') ?? 20);
      const after = url.searchParams.get('after_id');
      const newestFirst = [...this.batches].filter((b) => b.protocol === 'anthropic').reverse();
      const from = after ? newestFirst.findIndex((b) => b.id === after) + 1 : 0;
      const page = newestFirst.slice(from, from + limit);
      return {
        status: 200,
        json: {
          data: page.map((b) => this.anthropicBatch(b)),
          has_more: from + limit < newestFirst.length,
          first_id: page[0]?.id ?? null,
          last_id: page.at(-1)?.id ?? null,
        },
      };
    }
    const b = this.batches.find((x) => x.id === parts[3] && x.protocol === 'anthropic');
    if (!b) return { status: 404, json: { type: 'error', error: { type: 'not_found_error', message: `no batch ${parts[3]}` } } };
    if (m === 'POST' && parts[4] === 'cancel') {
      if (!this.ended(b)) b.cancelledAt = Date.now();
      return { status: 200, json: this.anthropicBatch(b) };
    }
    if (m === 'GET' && parts[4] === 'results') {
      if (!this.ended(b)) return { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message: 'batch has not ended' } } };
      this.advance(b);
      const text = b.lines
        .map((l) => {
          const result = l.result
            ? { type: 'succeeded', message: l.result.body }
            : l.outcome === 'error'
              ? { type: 'errored', error: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } } }
              : l.outcome === 'expire' && b.cancelledAt === undefined
                ? { type: 'expired' }
                : { type: 'canceled' };
          return JSON.stringify({ custom_id: l.customId, result }) + '\n';
        })
        .join('');
      return { status: 200, text };
    }
    if (m === 'GET' && parts.length === 4) return { status: 200, json: this.anthropicBatch(b) };
    return notFound(`no route ${m} ${parts.join('/')}`);
  }

  private anthropicBatch(b: ServerBatch): Record<string, unknown> {
    this.advance(b);
    const ended = this.ended(b);
    const t = Math.min(Date.now(), b.cancelledAt ?? Infinity);
    const succeeded = b.lines.filter((l) => l.result).length;
    const errored = b.lines.filter((l) => l.outcome === 'error' && l.doneAt <= t).length;
    const expired = ended && b.cancelledAt === undefined ? b.lines.filter((l) => l.outcome === 'expire').length : 0;
    const canceled = b.cancelledAt !== undefined ? b.lines.length - succeeded - errored : 0;
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : 'in_progress',
      request_counts: { processing: ended ? 0 : b.lines.length - succeeded - errored, succeeded, errored, canceled, expired },
      created_at: iso(b.createdAt),
      expires_at: iso(b.createdAt + 86_400_000),
      ended_at: ended ? iso(Math.min(b.endsAt, b.cancelledAt ?? Infinity)) : null,
      cancel_initiated_at: b.cancelledAt !== undefined ? iso(b.cancelledAt) : null,
      archived_at: null,
      results_url: ended ? `${this.baseUrl()}/v1/messages/batches/${b.id}/results` : null,
    };
  }
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function notFound(message: string): Reply {
  return { status: 404, json: { error: { type: 'not_found', message } } };
}

/** The `file` part of a multipart/form-data body (the SDK's `files.create`). */
function multipartFile(contentType: string, raw: Buffer): string {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) throw new Error('files: expected multipart/form-data');
  const marker = `--${boundary[1] ?? boundary[2]}`;
  for (const part of raw.toString('utf8').split(marker)) {
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd < 0) continue;
    const headers = part.slice(0, headerEnd);
    if (!/name="file"/.test(headers)) continue;
    return part.slice(headerEnd + 4).replace(/\r\n$/, '');
  }
  throw new Error('files: no "file" part in the upload');
}
