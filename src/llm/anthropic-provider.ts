import { linkedSignal } from './linked-signal';
import type Anthropic from '@anthropic-ai/sdk';
import { ModelError } from '../errors';
import { classifyError } from './classify-error';
import type { GenerateRequest, GenerateResult, LlmProvider } from './provider';
import { announcedLimits } from './rate-limit-headers';
import { AnthropicBatchApi, type BatchApi } from './batch-api';

/** The SDK, loaded with the first provider: a CLI command that calls no model never loads it. */
let loaded: typeof Anthropic | undefined;
function sdk(): typeof Anthropic {
  return (loaded ??= (require('@anthropic-ai/sdk') as { Anthropic: typeof Anthropic }).Anthropic);
}

/**
 * Anthropic Messages API; structured output by forcing one tool whose input schema is the answer
 * schema. SDK retries are off: Temporal owns retries.
 */
export class AnthropicProvider implements LlmProvider {
  readonly name = 'anthropic';
  private readonly client: Anthropic;
  constructor(
    readonly model: string,
    opts: { apiKey: string; baseURL?: string | undefined },
  ) {
    const Sdk = sdk();
    this.client = new Sdk({ apiKey: opts.apiKey, baseURL: opts.baseURL ?? null, maxRetries: 0 });
  }

  /** Anthropic's Message Batches. */
  batches(): BatchApi {
    return new AnthropicBatchApi(this.client, this, (err) => classifyError(err, this.name, this.model, this.client.baseURL, sdk()));
  }

  async generate(req: GenerateRequest): Promise<GenerateResult> {
    let message: Anthropic.Messages.Message;
    let announced: ReturnType<typeof announcedLimits> = {};
    const call = linkedSignal(req.signal);
    try {
      const params = this.body(req);
      const { data, response } = await this.client.messages
        .create(params, {
          timeout: req.timeoutMs,
          maxRetries: 0,
          signal: call.signal ?? null,
          headers: req.headers ?? {},
        })
        .withResponse();
      message = data;
      announced = announcedLimits(response.headers);
    } catch (err) {
      throw classifyError(err, this.name, this.model, this.client.baseURL, sdk());
    } finally {
      call.release();
    }
    return { ...this.parse(message), ...announced };
  }

  /** The Messages API params of a request: a live call's, and a batch line's (`params`). */
  body(req: Omit<GenerateRequest, 'signal' | 'timeoutMs' | 'headers'>): Anthropic.Messages.MessageCreateParamsNonStreaming {
    // This SDK's types no longer list `temperature`, but the Messages API still takes it for the
    // models that honour it (range 0..1), and the seed's temperature is a core knob.
    return {
      model: this.model,
      max_tokens: req.maxTokens,
      temperature: Math.min(1, req.temperature),
      ...(req.system ? { system: req.system } : {}),
      messages: [{ role: 'user' as const, content: req.prompt }],
      tools: [
        {
          name: req.schemaName,
          description: 'Return the generated examples in this exact structure.',
          input_schema: req.jsonSchema as Anthropic.Messages.Tool.InputSchema,
        },
      ],
      tool_choice: { type: 'tool' as const, name: req.schemaName },
    } as Anthropic.Messages.MessageCreateParamsNonStreaming;
  }

  /** A message's forced tool input and usage (a live call's, a batch line's); a `ModelError` when there is no usable answer. */
  parse(message: Anthropic.Messages.Message): GenerateResult {
    const usage = { inputTokens: message.usage?.input_tokens ?? 0, outputTokens: message.usage?.output_tokens ?? 0 };
    const block = message.content.find((b) => b.type === 'tool_use');
    if (!block || block.type !== 'tool_use') {
      const hint = message.stop_reason === 'max_tokens' ? ' (cut off at max tokens; raise maxTokens or lower batchSize)' : '';
      throw new ModelError(`anthropic/${this.model}: the answer has no tool_use block${hint}`, {
        category: message.stop_reason === 'refusal' ? 'content_filtered' : 'json_parse_error',
        provider: this.name,
        usage,
      });
    }
    let object: unknown = block.input;
    if (typeof object === 'string') {
      try {
        object = JSON.parse(object);
      } catch {
        throw new ModelError(`anthropic/${this.model}: the tool input is not valid JSON`, { category: 'json_parse_error', provider: this.name, usage });
      }
    }
    return { object, usage, finishReason: message.stop_reason ?? 'end_turn' };
  }
}
