import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseJsonl, writeFileAtomic } from '../files';
import { ConfigurationError } from '../errors';
import { applyFormatter, type Formatter } from './formatters';

/** One record in `format`; a refusal names the record (its line in the file written). */
function formatted(format: string | Formatter, record: Record<string, unknown>, index: number, drop: readonly string[] = []): Record<string, unknown> {
  try {
    return applyFormatter(format, record, { drop });
  } catch (err) {
    if (err instanceof ConfigurationError) throw new ConfigurationError(`record ${index + 1}: ${err.message}`, err.issues);
    throw err;
  }
}

/**
 * A list of training records with JSONL load/save, as in the seed (`Dataset()`, `extend`, `save`).
 * `save` writes atomically and can apply a formatter (chatml, alpaca, sharegpt, ...), leaving
 * out only the fields `drop` names.
 */
export class Dataset<T = Record<string, unknown>> implements Iterable<T> {
  readonly samples: T[];
  constructor(samples: Iterable<T> = []) {
    this.samples = [...samples];
  }

  get length(): number {
    return this.samples.length;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.samples[Symbol.iterator]();
  }

  /** Appends records or another dataset; returns this dataset. */
  extend(records: Iterable<T>): this {
    for (const r of records) this.samples.push(r);
    return this;
  }

  at(index: number): T | undefined {
    return this.samples.at(index);
  }

  /** Writes JSONL (one record a line), through a temp file; `format` converts each record first. */
  async save(file: string, opts: { format?: string | Formatter; drop?: readonly string[] } = {}): Promise<void> {
    await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
    const rows = opts.format ? this.samples.map((r, i) => formatted(opts.format!, r as Record<string, unknown>, i, opts.drop)) : this.samples;
    await writeFileAtomic(file, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  }

  /** Reads a JSONL file; a bad line is reported with its number. */
  static async load<T = Record<string, unknown>>(file: string): Promise<Dataset<T>> {
    const text = await fs.readFile(file, 'utf8');
    return new Dataset(parseJsonl(text, file) as T[]);
  }
}
