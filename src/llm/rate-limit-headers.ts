/**
 * The request limit a provider announces on its answers, read from their headers: OpenAI's
 * `x-ratelimit-limit-requests` (and OpenAI-compatible servers and gateways that copy it), Anthropic's
 * `anthropic-ratelimit-requests-limit`. Both count requests per minute. Undefined when neither is
 * sent (the run then paces only when told, and 429s slow it down as usual).
 */
export function announcedRequestsPerMinute(headers: { get(name: string): string | null } | undefined): number | undefined {
  if (!headers) return undefined;
  for (const name of ['x-ratelimit-limit-requests', 'anthropic-ratelimit-requests-limit']) {
    const n = Number(headers.get(name));
    if (Number.isFinite(n) && n >= 1) return Math.floor(n);
  }
  return undefined;
}
