import { linkedSignal } from './linked-signal';
import type OpenAI from 'openai';
import { ModelError } from '../errors';
import { classifyError } from './classify-error';
import type { GenerateRequest, GenerateResult, LlmProvider } from './provider';
import { announcedLimits } from './rate-limit-headers';
import { OpenAIBatchApi, type BatchApi } from './batch-api';

/** The SDK, loaded with the first provider: a CLI command that calls no model never loads it. */
let loaded: typeof OpenAI | undefined;
function sdk(): typeof OpenAI {
  return (loaded ??= (require('openai') as { OpenAI: typeof OpenAI }).OpenAI);
}
/** The SDK's `toFile` (the batch input's upload). */
const toFile = (text: string) => (require('openai') as typeof import('openai')).toFile(Buffer.from(text, 'utf8'), 'batch.jsonl');

/**
 * OpenAI chat completions with a strict JSON-schema `response_format`. Serves OpenAI and every
 * OpenAI-compatible endpoint (Ollama, vLLM, OpenRouter). The SDK's own retries are off: Temporal
 * owns retries, so each attempt is visible in the run's history and stats.
 */
export class OpenAIProvider implements LlmProvider {
  private readonly client: OpenAI;
  constructor(
    readonly name: string,
    readonly model: string,
    opts: { apiKey: string; baseURL?: string | undefined },
  ) {
    const Sdk = sdk();
    this.client = new Sdk({ apiKey: opts.apiKey, baseURL: opts.baseURL ?? null, maxRetries: 0 });
  }

  /** This endpoint's batch API (OpenAI's Files + Batches). */
  batches(): BatchApi {
    return new OpenAIBatchApi(this.client, this, (err) => classifyError(err, this.name, this.model, this.client.baseURL, sdk()), toFile);
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    let announced: ReturnType<typeof announcedLimits> = {};
    const call = linkedSignal(req.signal);
    try {
      const { data, response } = await this.client.chat.completions
        .create(this.body(req), { timeout: req.timeoutMs, maxRetries: 0, signal: call.signal ?? null, headers: req.headers ?? {} })
        .withResponse();
      completion = data;
      announced = announcedLimits(response.headers);
    } catch (err) {
      throw classifyError(err, this.name, this.model, this.client.baseURL, sdk());
    } finally {
      call.release();
    }
    return { ...this.parse(completion), ...announced };
  }

  /** The chat-completions body of a request: a live call's, and a batch line's (`body` of an `/v1/chat/completions` line). */
  body(req: Omit<GenerateRequest, 'signal' | 'timeoutMs' | 'headers'>): OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming {
    return {
      model: this.model,
      temperature: req.temperature,
      max_completion_tokens: req.maxTokens,
      messages: [...(req.system ? [{ role: 'system' as const, content: req.system }] : []), { role: 'user' as const, content: req.prompt }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: req.schemaName, schema: req.jsonSchema, strict: true },
      },
    };
  }

  /** A completion's JSON answer and usage (a live call's, a batch line's); a `ModelError` when there is no usable answer. */
  parse(completion: OpenAI.Chat.Completions.ChatCompletion): GenerateResult {
    const choice = completion.choices[0];
    const usage = { inputTokens: completion.usage?.prompt_tokens ?? 0, outputTokens: completion.usage?.completion_tokens ?? 0 };
    if (!choice) {
      throw new ModelError(`${this.name}/${this.model}: the answer had no choices`, { category: 'json_parse_error', provider: this.name, usage });
    }
    if (choice.finish_reason === 'content_filter' || choice.message.refusal) {
      throw new ModelError(`${this.name}/${this.model}: the model refused or was filtered: ${choice.message.refusal ?? 'content_filter'}`, {
        category: 'content_filtered',
        provider: this.name,
        usage,
      });
    }
    const text = choice.message.content ?? '';
    let object: unknown;
    try {
      object = JSON.parse(text);
    } catch {
      const hint = choice.finish_reason === 'length' ? ' (the answer was cut off at max tokens; raise maxTokens or lower batchSize)' : '';
      throw new ModelError(`${this.name}/${this.model}: the answer is not valid JSON${hint}: ${text.slice(0, 120)}`, {
        category: 'json_parse_error',
        provider: this.name,
        usage,
      });
    }
    return { object, usage, finishReason: choice.finish_reason ?? 'stop' };
  }
}
