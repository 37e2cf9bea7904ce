#!/usr/bin/env node
// Runs the compiled CLI (always in the installed package; in a checkout when `npm run build` is newer
// than every file in src/), else the TypeScript source through tsx: a checkout never runs a stale build.
const path = require('node:path');
const fs = require('node:fs');
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // Nothing else loaded: scripts ask for the version to check an install.
  process.stdout.write(`${require(path.join(__dirname, '..', 'package.json')).version}\n`);
  process.exit(0);
}
const root = path.join(__dirname, '..');
const built = path.join(root, 'dist', 'src', 'client', 'cli.js');
if (fs.existsSync(built) && !sourceNewerThan(fs.statSync(built).mtimeMs)) {
  require(built);
} else {
  require('tsx/cjs');
  require(path.join(root, 'src', 'client', 'cli.ts'));
}

/** In a checkout: has a source file changed since the last build? (The installed package has no src/.) */
function sourceNewerThan(builtAt) {
  const newer = (dir) =>
    fs.readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? newer(p) : fs.statSync(p).mtimeMs > builtAt;
    });
  const src = path.join(root, 'src');
  return fs.existsSync(src) && newer(src);
}
