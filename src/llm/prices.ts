/**
 * Token prices, for the estimated cost of a run and its budget. Pure.
 *
 * List prices in US dollars per million tokens, as the providers published them on the date given;
 * they change, so a config can set its own (`llm.price` in YAML, `price` in the library), and a
 * model without a known price shows tokens but no cost (and cannot take a budget).
 */
import { z } from 'zod';

/** Dollars per million input and output tokens. */
export interface TokenPrice {
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
}

/** Dollars for the given tokens at `price`, rounded to a millionth of a dollar. */
export function costUsd(tokens: { inputTokens: number; outputTokens: number }, price: TokenPrice): number {
  const usd = (tokens.inputTokens * price.inputPerMTokUsd + tokens.outputTokens * price.outputPerMTokUsd) / 1e6;
  return Math.round(usd * 1e6) / 1e6;
}

/**
 * What a token answered through a provider's batch API costs, as a share of the live price: OpenAI's
 * Batch API and Anthropic's Message Batches both bill half the live price.
 */
export const BATCH_PRICE_FACTOR = 0.5;

/** Dollars for tokens of which `batch` were answered through a batch API (the batch price). */
export function costWithBatchUsd(
  tokens: { inputTokens: number; outputTokens: number },
  batch: { inputTokens: number; outputTokens: number },
  price: TokenPrice,
): number {
  const live = costUsd({ inputTokens: tokens.inputTokens - batch.inputTokens, outputTokens: tokens.outputTokens - batch.outputTokens }, price);
  const batched = costUsd(batch, {
    inputPerMTokUsd: price.inputPerMTokUsd * BATCH_PRICE_FACTOR,
    outputPerMTokUsd: price.outputPerMTokUsd * BATCH_PRICE_FACTOR,
  });
  return Math.round((live + batched) * 1e6) / 1e6;
}

export const PriceSchema = z
  .object({
    inputPerMTokUsd: z.number().min(0),
    outputPerMTokUsd: z.number().min(0),
    /** Where the price comes from: "config", or the table's date. */
    source: z.string().default('config'),
  })
  .strict();
type Price = z.output<typeof PriceSchema>;

const listed = (inputPerMTokUsd: number, outputPerMTokUsd: number, asOf: string): Price => ({
  inputPerMTokUsd,
  outputPerMTokUsd,
  source: `list price ${asOf}`,
});

/** Known list prices by `provider/model` (a dated snapshot suffix, e.g. `-2024-07-18`, matches too). */
export const PRICE_TABLE: Readonly<Record<string, Price>> = {
  'openai/gpt-4o-mini': listed(0.15, 0.6, '2025-06'),
  'openai/gpt-4o': listed(2.5, 10, '2025-06'),
  'openai/gpt-4.1': listed(2, 8, '2025-06'),
  'openai/gpt-4.1-mini': listed(0.4, 1.6, '2025-06'),
  'openai/gpt-4.1-nano': listed(0.1, 0.4, '2025-06'),
  'anthropic/claude-3-5-haiku-latest': listed(0.8, 4, '2025-06'),
  'anthropic/claude-3-5-haiku': listed(0.8, 4, '2025-06'),
  'anthropic/claude-sonnet-4-0': listed(3, 15, '2025-06'),
  'anthropic/claude-sonnet-4': listed(3, 15, '2025-06'),
  'anthropic/claude-3-7-sonnet-latest': listed(3, 15, '2025-06'),
};

/** The price of `provider/model`: the config's when given, else the table's, matching a dated snapshot to its base name. */
export function priceFor(provider: string, model: string, configured?: Price): Price | undefined {
  if (configured) return configured;
  const key = `${provider}/${model}`;
  const exact = PRICE_TABLE[key];
  if (exact) return exact;
  // gpt-4o-mini-2024-07-18 → gpt-4o-mini; the longest listed name wins (gpt-4o-mini over gpt-4o).
  const base = key.replace(/-\d{4}-\d{2}-\d{2}$|-\d{8}$/, '');
  return base !== key ? PRICE_TABLE[base] : undefined;
}
