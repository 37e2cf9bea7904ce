/**
 * Per-example prompt templates with `{variable}` substitution. Pure: used by the client to check a
 * configuration and by the batch runner to render prompts.
 */

/** Variables every template may use without declaring them. */
const BUILTIN_VARIABLES = ['topic', 'context', 'path', 'examples', 'audience', 'complexity', 'content_type', 'audience_level'] as const;

/** Built-in template kinds and their defaults. `default` is DeepFabric's own wording. */
export const DEFAULT_TEMPLATES: Record<string, string> = {
  default: 'The example should relate to: {path}',
  instruction: 'Create a clear explanation of {topic} suitable for {audience}. Include practical examples and key concepts. Context: {context}',
  conversation: 'Generate a natural conversation about {topic} that demonstrates helpful, informative dialogue. Context: {context}',
};

/** Values used when a template names a built-in variable the user did not set. */
const DEFAULT_VARIABLE_VALUES: Record<string, string> = {
  audience: 'intermediate learners',
  audience_level: 'intermediate learners',
  complexity: 'intermediate',
  content_type: 'explanation',
};

const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Names of the variables a template uses, in order of first use. */
function templateVariables(template: string): string[] {
  const seen = new Set<string>();
  for (const m of template.matchAll(VARIABLE)) seen.add(m[1]!);
  return [...seen];
}

/** Variables the template uses that are neither built in nor given a value by the user. */
export function unknownVariables(template: string, userVars: Record<string, string>): string[] {
  const known = new Set<string>([...BUILTIN_VARIABLES, ...Object.keys(userVars)]);
  return templateVariables(template).filter((v) => !known.has(v));
}

/** Values for one example. */
interface TopicContext {
  path: string[];
  examples: string;
}

/** Renders a template for one topic path; `{{` and `}}` stay as literal braces. */
export function renderTemplate(template: string, topic: TopicContext, userVars: Record<string, string>): string {
  const leaf = topic.path[topic.path.length - 1] ?? '';
  const values: Record<string, string> = {
    ...DEFAULT_VARIABLE_VALUES,
    topic: leaf,
    context: topic.path.slice(0, -1).join(' -> ') || leaf,
    path: topic.path.join(' -> '),
    examples: topic.examples,
    ...userVars,
  };
  return template.replace(VARIABLE, (whole, name: string) => values[name] ?? whole);
}
