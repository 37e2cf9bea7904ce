/**
 * The request limit a provider announces on its answers, read from their headers: OpenAI's
 * `x-ratelimit-limit-requests` (and OpenAI-compatible servers and gateways that copy it), Anthropic's
 * `anthropic-ratelimit-requests-limit`. Both count requests per minute. Undefined when neither is
 * sent (the run then paces when told, or at what its 429s teach: learned-limits.ts).
 */
export function announcedRequestsPerMinute(headers: HeaderBag | undefined): number | undefined {
  return firstCount(headers, ['x-ratelimit-limit-requests', 'anthropic-ratelimit-requests-limit']);
}

type HeaderBag = { get(name: string): string | null };

/** The first of `names` whose header holds a count (1 or more). */
function firstCount(headers: HeaderBag | undefined, names: string[]): number | undefined {
  for (const name of names) {
    const n = Number(headers?.get(name));
    if (Number.isFinite(n) && n >= 1) return Math.floor(n);
  }
  return undefined;
}

/**
 * The token limit a provider announces, per minute: OpenAI's `x-ratelimit-limit-tokens`, Anthropic's
 * `anthropic-ratelimit-tokens-limit` (its most restrictive token limit). Undefined when not sent.
 */
export function announcedTokensPerMinute(headers: HeaderBag | undefined): number | undefined {
  return firstCount(headers, ['x-ratelimit-limit-tokens', 'anthropic-ratelimit-tokens-limit']);
}

/** Both limits an answer announced (requests and tokens per minute), for `GenerateResult`. */
export function announcedLimits(headers: HeaderBag | undefined): { announcedRpm?: number; announcedTpm?: number } {
  const rpm = announcedRequestsPerMinute(headers);
  const tpm = announcedTokensPerMinute(headers);
  return { ...(rpm ? { announcedRpm: rpm } : {}), ...(tpm ? { announcedTpm: tpm } : {}) };
}
