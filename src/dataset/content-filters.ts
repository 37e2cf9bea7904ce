import type { DeclarativeFilters } from '../config/run-input';

/** The seed's filter signature: `(content, topic, metadata) => [ok, reason]`. */
export type ContentFilter = (
  content: string,
  topic: string,
  metadata: Record<string, unknown>,
) => [boolean, string] | boolean | Promise<[boolean, string] | boolean>;

const registry = new Map<string, ContentFilter>();

/**
 * Registers a filter by name in this worker process. Functions cannot travel to remote workers, so a
 * run names its filters and every worker that may serve it registers them at start.
 */
export function registerContentFilter(name: string, filter: ContentFilter): void {
  registry.set(name, filter);
}

/** Verdict on one record; `reason` is the key under which stats count the rejection. */
type FilterVerdict = { ok: true } | { ok: false; reason: string };

/** Runs declarative filters, then named ones in order; the first rejection wins. */
export async function applyContentFilters(
  filters: DeclarativeFilters,
  content: string,
  record: Record<string, unknown>,
  topic: string,
  metadata: Record<string, unknown>,
): Promise<FilterVerdict> {
  if (filters.minLength !== undefined && content.length < filters.minLength) {
    return { ok: false, reason: `shorter than ${filters.minLength} characters` };
  }
  if (filters.maxLength !== undefined && content.length > filters.maxLength) {
    return { ok: false, reason: `longer than ${filters.maxLength} characters` };
  }
  const lower = content.toLowerCase();
  for (const phrase of filters.bannedPhrases ?? []) {
    if (lower.includes(phrase.toLowerCase())) return { ok: false, reason: `contains banned phrase "${phrase}"` };
  }
  if (filters.mustMatch && !new RegExp(filters.mustMatch, 'u').test(content)) {
    return { ok: false, reason: `does not match /${filters.mustMatch}/` };
  }
  if (filters.mustNotMatch && new RegExp(filters.mustNotMatch, 'u').test(content)) {
    return { ok: false, reason: `matches /${filters.mustNotMatch}/` };
  }
  for (const field of filters.requiredFields ?? []) {
    const v = record[field];
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
      return { ok: false, reason: `missing field ${field}` };
    }
  }
  for (const name of filters.named ?? []) {
    const filter = registry.get(name);
    if (!filter) throw new MissingFilterError(name);
    const verdict = await filter(content, topic, metadata);
    const [ok, reason] = Array.isArray(verdict) ? verdict : [verdict, `rejected by ${name}`];
    if (!ok) return { ok: false, reason: reason || `rejected by ${name}` };
  }
  return { ok: true };
}

/** A run names a filter that this worker process never registered. */
export class MissingFilterError extends Error {
  constructor(readonly filterName: string) {
    super(
      `content filter "${filterName}" is not registered in this worker; register it with registerContentFilter() in every worker that serves this run, or use declarative filters`,
    );
    this.name = 'MissingFilterError';
  }
}
