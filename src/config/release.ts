/**
 * This package's release. One release is one version of the workflow code (the policy is in
 * docs/RELEASES.md): every run records the release that started it in its memo, and `runs list`
 * flags runs started by another release.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from './paths';

let cached: string | undefined;

/** This package's version, from its package.json (found from the source and the compiled file alike). */
export function packageVersion(): string {
  if (cached === undefined) {
    try {
      cached = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
