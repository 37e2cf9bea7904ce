/**
 * Headless Chromium (Debian's `chromium` package) for tests of pages: the page's DOM after its
 * scripts ran, every console message it logged, and every request that left the browser, seen by
 * a recording proxy on a free port (all of Chromium's traffic goes through it; Chromium's own
 * service calls to Google hosts are told apart from the page's).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Chromium's own background traffic (time, component updates, accounts), not the page's. */
const BROWSER_HOSTS = /(^|\.)(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(:\d+)?$/;

export interface RenderedPage {
  dom: string;
  /** Console messages (errors, CSP violations, logs) as Chromium printed them. */
  console: string[];
  /** Requests the page made (host and path), Chromium's own service calls left out. */
  requests: string[];
}

export const chromiumBin = () => process.env.CHROMIUM_BIN || 'chromium';

/** Loads `file` in headless Chromium; `screenshot` also writes a PNG of the page there. */
export async function renderPage(file: string, opts: { screenshot?: string; width?: number; height?: number } = {}): Promise<RenderedPage> {
  const requests: string[] = [];
  const proxy = http.createServer((req, res) => {
    const host = new URL(req.url ?? '/', 'http://unknown').host;
    if (!BROWSER_HOSTS.test(host)) requests.push(`${req.method} ${req.url}`);
    res.writeHead(404).end();
  });
  proxy.on('connect', (req: http.IncomingMessage, socket: import('node:stream').Duplex) => {
    if (!BROWSER_HOSTS.test(req.url ?? '')) requests.push(`CONNECT ${req.url}`);
    socket.end();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as AddressInfo).port;
  const profile = mkdtempSync(path.join(os.tmpdir(), 'chromium-'));
  const args = [
    '--headless=new',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-default-apps',
    '--no-first-run',
    `--proxy-server=http://127.0.0.1:${port}`,
    '--proxy-bypass-list=<-loopback>',
    '--enable-logging=stderr',
    '--v=0',
    `--user-data-dir=${profile}`,
    `--window-size=${opts.width ?? 1280},${opts.height ?? 2400}`,
    ...(opts.screenshot ? [`--screenshot=${opts.screenshot}`, '--hide-scrollbars'] : ['--dump-dom']),
    `file://${path.resolve(file)}`,
  ];
  try {
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
      const child = spawn(chromiumBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', (c) => resolve({ stdout: out, stderr: err, code: c }));
    });
    if (code !== 0) throw new Error(`chromium exited with ${code}: ${stderr.slice(-1000)}`);
    return { dom: stdout, console: stderr.split('\n').filter((l) => l.includes(':CONSOLE')), requests };
  } finally {
    await new Promise((r) => proxy.close(r));
  }
}

/** The `data-figure` values of a DOM, numbers without their thousands separators. */
export function figuresOf(dom: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of dom.matchAll(/data-figure="([^"]+)"[^>]*>([^<]*)</g)) out[m[1]!.replace(/&amp;/g, '&')] = m[2]!.replace(/,/g, '');
  return out;
}
