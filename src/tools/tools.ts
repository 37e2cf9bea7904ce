/**
 * Tools an agent example may call, and their execution (DeepFabric 4.x `generation.tools`).
 * Results come from executing the tool, never from the model: DeepFabric's `builtin` virtual file
 * system (read_file, write_file, list_files, delete_file) runs here, in memory, one fresh file system
 * per example seeded from `scenario_seed.files`; `custom` tools answer with their `mock_response`
 * (placeholders `{{arg}}` filled from the call's arguments); with `spin_endpoint` every tool is
 * executed by that Spin service, as DeepFabric does (`POST {spin}/{component}/execute` with
 * `{session_id, tool, args}`, or `tool_execute_path`). The settings travel in the run's input
 * (workflow history): they hold no secret.
 */
import { z } from 'zod';
import { ConfigurationError, DataSetGeneratorError } from '../errors';

const ToolParameterSchema = z
  .object({
    name: z.string().min(1),
    type: z.enum(['str', 'int', 'float', 'bool', 'list', 'dict']).default('str'),
    description: z.string().default(''),
    required: z.boolean().default(true),
    default: z.string().nullable().optional(),
  })
  .strict();

/** DeepFabric's tool definition, plus `mock_response`: what the tool answers when no Spin service executes it. */
export const ToolDefinitionSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z_][\w-]*$/, 'a function name (letters, digits, _ and -)'),
    description: z.string().min(1),
    parameters: z.array(ToolParameterSchema).default([]),
    returns: z.string().default(''),
    category: z.string().default('general'),
    component: z.string().optional(),
    mock_response: z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
  })
  .strict();
export type ToolDefinition = z.infer<typeof ToolDefinitionSchema>;

/** The tools of a run, resolved (definitions, how each is executed), as they travel to the workers. */
export const ToolsSettingsSchema = z.object({
  tools: z.array(ToolDefinitionSchema).min(1),
  spinEndpoint: z.string().url().optional(),
  toolExecutePath: z.string().optional(),
  seedFiles: z.record(z.string(), z.string()).default({}),
  maxPerQuery: z.number().int().min(1).max(10).default(3),
  strict: z.boolean().default(true),
  maxAgentSteps: z.number().int().min(1).max(10).default(5),
  /** A record's `tools`: the tools its example called (DeepFabric 4.13's default `used_only`) or every tool of the run. */
  toolInclusion: z.enum(['used_only', 'all']).default('used_only'),
});
export type ToolsSettings = z.infer<typeof ToolsSettingsSchema>;

const P = (name: string, description: string) => ({ name, type: 'str' as const, description, required: true });

/** DeepFabric's builtin component: a virtual file system per example. */
export const BUILTIN_TOOLS: ToolDefinition[] = [
  {
    name: 'read_file',
    description: 'Read the content of a file',
    parameters: [P('file_path', 'Path of the file to read')],
    returns: 'The file content',
    category: 'vfs',
    component: 'builtin',
  },
  {
    name: 'write_file',
    description: 'Write content to a file (creates or replaces it)',
    parameters: [P('file_path', 'Path of the file to write'), P('content', 'The content to write')],
    returns: 'A confirmation',
    category: 'vfs',
    component: 'builtin',
  },
  { name: 'list_files', description: 'List all files', parameters: [], returns: 'A JSON list of file paths', category: 'vfs', component: 'builtin' },
  {
    name: 'delete_file',
    description: 'Delete a file',
    parameters: [P('file_path', 'Path of the file to delete')],
    returns: 'A confirmation',
    category: 'vfs',
    component: 'builtin',
  },
];

const JSON_TYPES: Record<string, string> = { str: 'string', int: 'integer', float: 'number', bool: 'boolean', list: 'array', dict: 'object' };

/** A tool in OpenAI's function-calling form (the records' `tools`, what TRL's chat templates read). */
export function toOpenAiTool(t: ToolDefinition): { type: 'function'; function: { name: string; description: string; parameters: Record<string, unknown> } } {
  const properties: Record<string, unknown> = {};
  for (const p of t.parameters) properties[p.name] = { type: JSON_TYPES[p.type] ?? 'string', description: p.description };
  return {
    type: 'function',
    function: {
      name: t.name,
      description: t.description,
      parameters: { type: 'object', properties, required: t.parameters.filter((p) => p.required).map((p) => p.name) },
    },
  };
}

const MCP_TYPES: Record<string, ToolDefinition['parameters'][number]['type']> = {
  string: 'str',
  integer: 'int',
  number: 'float',
  boolean: 'bool',
  array: 'list',
  object: 'dict',
};

/** An MCP tool (`{name, description, inputSchema}`, as a `tools/list` answer holds them) as a tool definition of `component`. */
function fromMcpTool(
  t: { name: string; description?: string; inputSchema?: { properties?: Record<string, { type?: string; description?: string }>; required?: string[] } },
  component: string,
): ToolDefinition {
  const props = t.inputSchema?.properties ?? {};
  const required = new Set(t.inputSchema?.required ?? []);
  return ToolDefinitionSchema.parse({
    name: t.name,
    description: t.description || t.name,
    parameters: Object.entries(props).map(([name, p]) => ({
      name,
      type: MCP_TYPES[p?.type ?? 'string'] ?? 'str',
      description: p?.description ?? '',
      required: required.has(name),
    })),
    component,
  });
}

/**
 * The definitions of the listed tools of each component, read from `endpoint` (DeepFabric's
 * `tools_endpoint`: an MCP `tools/list` answer, `{tools: [...]}` or the bare list). Refused, naming
 * the field, when the endpoint cannot be read or lacks a tool.
 */
export async function loadEndpointTools(endpoint: string, components: Record<string, string[]>): Promise<ToolDefinition[]> {
  let listed: { name: string }[];
  try {
    const res = await fetch(endpoint, { signal: AbortSignal.timeout(15_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as unknown;
    listed = (Array.isArray(body) ? body : ((body as { tools?: unknown[] }).tools ?? [])) as { name: string }[];
  } catch (err) {
    throw new ConfigurationError(`generation.tools.tools_endpoint: cannot read tool definitions from ${endpoint}: ${(err as Error).message}`);
  }
  const out: ToolDefinition[] = [];
  for (const [component, names] of Object.entries(components)) {
    for (const name of names) {
      const t = listed.find((x) => x && x.name === name);
      if (!t)
        throw new ConfigurationError(
          `generation.tools.components.${component}: ${endpoint} lists no tool "${name}"; it lists ${listed.map((x) => x.name).join(', ') || 'nothing'}`,
        );
      out.push(fromMcpTool(t as Parameters<typeof fromMcpTool>[0], component));
    }
  }
  return out;
}

/** One line per tool for the prompt: `name(a: str, b?: int) -> returns: description`. */
export function toolSignature(t: ToolDefinition): string {
  const params = t.parameters.map((p) => `${p.name}${p.required ? '' : '?'}: ${p.type}`).join(', ');
  return `${t.name}(${params})${t.returns ? ` -> ${t.returns}` : ''}: ${t.description}`;
}

/** The state of one example's tools: its own file system (DeepFabric's session). */
export class ToolSession {
  readonly files: Map<string, string>;
  constructor(
    readonly id: string,
    seed: Record<string, string>,
  ) {
    this.files = new Map(Object.entries(seed));
  }
}

/** Why a call cannot be executed (unknown tool, bad arguments): the model's mistake, fed back on retry. */
export class ToolCallError extends Error {
  override readonly name = 'ToolCallError';
}

function fill(template: unknown, args: Record<string, unknown>): unknown {
  if (typeof template === 'string')
    return template.replace(/\{\{\s*([\w-]+)\s*\}\}/g, (_m, k: string) =>
      args[k] === undefined ? '' : typeof args[k] === 'string' ? (args[k] as string) : JSON.stringify(args[k]),
    );
  if (Array.isArray(template)) return template.map((v) => fill(v, args));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fill(v, args)]));
  return template;
}

function runBuiltin(session: ToolSession, name: string, args: Record<string, unknown>): string {
  const file = typeof args.file_path === 'string' ? args.file_path : '';
  switch (name) {
    case 'read_file':
      return session.files.has(file) ? session.files.get(file)! || '(empty file)' : `Error: file not found: ${file}`;
    case 'write_file': {
      const content = typeof args.content === 'string' ? args.content : JSON.stringify(args.content ?? '');
      session.files.set(file, content);
      return `Wrote ${Buffer.byteLength(content)} bytes to ${file}`;
    }
    case 'list_files':
      return JSON.stringify([...session.files.keys()].sort());
    case 'delete_file':
      return session.files.delete(file) ? `Deleted ${file}` : `Error: file not found: ${file}`;
    default:
      throw new ToolCallError(`${name} is not a builtin tool`);
  }
}

/** The longest a tool service (Spin) may take to execute one call. */
const TOOL_TIMEOUT_MS = 60_000;

/**
 * Spin's answer as the tool's result, as DeepFabric records it: its `result` (text or JSON) whether or
 * not it succeeded (Spin's VFS answers `{success: false, result: "File not found: main.py"}`); an
 * answer with only an `error` gives that error's text.
 */
function spinResult(body: string): string {
  const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  try {
    const j = JSON.parse(body) as { success?: boolean; result?: unknown; error?: unknown };
    if (j && typeof j === 'object' && ('result' in j || 'error' in j)) {
      if (j.result !== undefined && j.result !== null && j.result !== '') return text(j.result);
      if (j.error !== undefined && j.error !== null) return `Error: ${text(j.error)}`;
      return j.success === false ? 'Error: the tool failed without a message' : '';
    }
  } catch {
    /* a plain-text answer is the result */
  }
  return body;
}

/**
 * One call to the Spin service: `POST {spin}{route}` with DeepFabric's payload `{session_id, tool,
 * args}`. A service that never answers fails the call (and the batch is retried) instead of holding
 * it to the activity's timeout.
 */
async function spinCall(
  endpoint: string,
  route: string,
  payload: { session_id: string; tool: string; args: Record<string, unknown> },
  signal?: AbortSignal,
): Promise<{ status: number; ok: boolean; body: string }> {
  const res = await fetch(`${endpoint.replace(/\/$/, '')}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(payload),
    signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(TOOL_TIMEOUT_MS)]) : AbortSignal.timeout(TOOL_TIMEOUT_MS),
  });
  return { status: res.status, ok: res.ok, body: await res.text() };
}

/**
 * Writes `scenario_seed.files` into an example's Spin session before its first step, as DeepFabric
 * does (Spin's VFS `write_file`, one call per file), so a seeded `read_file` finds them. A service that
 * refuses fails the call (the batch is retried; writing the same files again is harmless).
 */
export async function seedSpinSession(settings: ToolsSettings, session: ToolSession, signal?: AbortSignal): Promise<void> {
  if (!settings.spinEndpoint) return;
  for (const [file_path, content] of Object.entries(settings.seedFiles)) {
    const res = await spinCall(settings.spinEndpoint, '/vfs/execute', { session_id: session.id, tool: 'write_file', args: { file_path, content } }, signal);
    let ok = res.ok;
    try {
      ok &&= (JSON.parse(res.body) as { success?: boolean }).success !== false;
    } catch {
      /* a plain-text 200 counts as written */
    }
    if (!ok)
      throw new DataSetGeneratorError(
        `tool service ${settings.spinEndpoint} could not seed ${file_path} (scenario_seed) for session ${session.id}: ${res.status} ${res.body.slice(0, 200)}`,
        'tool_service_error',
      );
  }
}

/**
 * Executes one tool call and returns its result (never empty). Throws `ToolCallError` for a call the
 * model got wrong (unknown tool, arguments that are not a JSON object); a Spin service that cannot be
 * reached throws a plain error (the batch is retried).
 */
export async function executeTool(settings: ToolsSettings, session: ToolSession, name: string, argumentsJson: string, signal?: AbortSignal): Promise<string> {
  const tool = settings.tools.find((t) => t.name === name);
  if (!tool) throw new ToolCallError(`unknown tool "${name}"; the tools are ${settings.tools.map((t) => t.name).join(', ')}`);
  let args: unknown;
  try {
    args = JSON.parse(argumentsJson);
  } catch {
    throw new ToolCallError(`arguments of ${name} are not JSON: ${argumentsJson.slice(0, 100)}`);
  }
  if (!args || typeof args !== 'object' || Array.isArray(args)) throw new ToolCallError(`arguments of ${name} must be a JSON object`);
  const a = args as Record<string, unknown>;
  const missing = tool.parameters.filter((p) => p.required && (a[p.name] === undefined || a[p.name] === null || a[p.name] === ''));
  if (missing.length) throw new ToolCallError(`${name} needs ${missing.map((p) => p.name).join(', ')}`);
  // DeepFabric's ToolExecution refuses a null or empty argument, optional or not; its retry asks for real values.
  for (const [k, v] of Object.entries(a)) {
    if (v === null) throw new ToolCallError(`Argument '${k}' of ${name} is null - must provide actual value (leave an optional argument out instead)`);
    if (v === '') throw new ToolCallError(`Argument '${k}' of ${name} is empty string - must provide actual value (leave an optional argument out instead)`);
  }
  let result: string;
  if (settings.spinEndpoint) {
    // DeepFabric's routing: builtin -> /vfs/execute, a custom tool -> /mock/execute, component X -> /X/execute.
    const route = settings.toolExecutePath ?? `/${tool.component === 'builtin' ? 'vfs' : (tool.component ?? 'mock')}/execute`;
    const { status, ok, body } = await spinCall(settings.spinEndpoint, route, { session_id: session.id, tool: name, args: a }, signal);
    if (status >= 500)
      throw new DataSetGeneratorError(`tool service ${settings.spinEndpoint} answered ${status} for ${name}: ${body.slice(0, 200)}`, 'tool_service_error');
    result = ok ? spinResult(body) : `Error: ${status} ${body.slice(0, 500)}`;
  } else if (tool.component === 'builtin') {
    result = runBuiltin(session, name, a);
  } else if (tool.mock_response !== undefined) {
    const filled = fill(tool.mock_response, a);
    result = typeof filled === 'string' ? filled : JSON.stringify(filled);
  } else {
    throw new ConfigurationError(`generation.tools: tool ${name} has no way to run (no mock_response, no spin_endpoint)`);
  }
  return result.trim() ? result : '(no output)';
}
