/**
 * This package's release. One release is one version of the workflow code (the policy is in
 * docs/RELEASES.md): every run records the release that started it in its memo, and `runs list`
 * flags runs started by another release.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

let cached: string | undefined;

/** This package's version, from its package.json (found from the source and the compiled file alike). */
export function packageVersion(): string {
  if (cached) return cached;
  cached = 'unknown';
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'deepfabric-temporal') {
        cached = pkg.version ?? 'unknown';
        break;
      }
    }
  }
  return cached;
}
