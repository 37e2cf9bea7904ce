import { parseYamlConfig } from '../../src/config/yaml-config';
import { ConfigurationError } from '../../src/errors';

/** The issues a YAML config is refused with (it must be refused, with a ConfigurationError). */
export function configIssues(text: string): string[] {
  try {
    parseYamlConfig(text, 'c.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as ConfigurationError).issues;
  }
  throw new Error('expected a ConfigurationError');
}
