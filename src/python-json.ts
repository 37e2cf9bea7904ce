/**
 * Python's `json.dumps` text, byte for byte: DeepFabric 3.x's formatters write JSON inside their
 * texts (tool lists, tool calls) with Python's defaults, so a format compatible with theirs must
 * write the same bytes: `", "` and `": "` separators (`","` between items when indented),
 * non-ASCII escaped as `\uXXXX` (ensure_ascii), and an indent of n spaces per level.
 */

const ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    if (ESCAPES[ch]) out += ESCAPES[ch];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  // A JSON number parsed in JavaScript has lost whether it was written `1` or `1.0`; integers are written as Python writes ints.
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  const s = String(n);
  return /e/.test(s) ? s.replace(/e([+-])(\d)$/, 'e$10$2') : s;
}

/** `json.dumps(value)` or, with `indent`, `json.dumps(value, indent=indent)`. */
export function pyDumps(value: unknown, indent?: number, level = 0): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return pyString(value);
  if (typeof value === 'number') return pyNumber(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const inner = indent === undefined ? '' : `\n${' '.repeat(indent * (level + 1))}`;
  const outer = indent === undefined ? '' : `\n${' '.repeat(indent * level)}`;
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(value)) {
    if (!value.length) return '[]';
    return `[${inner}${value.map((v) => pyDumps(v, indent, level + 1)).join(`${sep}${inner}`)}${outer}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  if (!entries.length) return '{}';
  return `{${inner}${entries.map(([k, v]) => `${pyString(k)}: ${pyDumps(v, indent, level + 1)}`).join(`${sep}${inner}`)}${outer}}`;
}
