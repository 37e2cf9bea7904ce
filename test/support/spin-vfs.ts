import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type SpinCall = { session_id: string; tool: string; args: Record<string, string> };

/**
 * Spin's VFS component as DeepFabric's tools-sdk answers: files per session, `{success, result}`, a
 * missing file `{success: false, result: "File not found: <path>"}`; `DELETE /session/<id>` ends a
 * session (DeepFabric's cleanup), `GET /health` answers ok. Every execute call is recorded.
 */
export async function spinVfs(): Promise<{ endpoint: string; calls: SpinCall[]; close(): void }> {
  const sessions = new Map<string, Map<string, string>>();
  const calls: SpinCall[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const reply = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      if (req.method === 'DELETE' && req.url?.startsWith('/session/')) {
        sessions.delete(decodeURIComponent(req.url.slice('/session/'.length)));
        reply(200, { success: true });
        return;
      }
      if (req.method === 'GET') {
        reply(200, req.url === '/health' ? { status: 'ok' } : { components: ['vfs'] });
        return;
      }
      const call = JSON.parse(body) as SpinCall;
      calls.push(call);
      const files = sessions.get(call.session_id) ?? new Map<string, string>();
      sessions.set(call.session_id, files);
      const p = call.args.file_path ?? '';
      const answer =
        call.tool === 'write_file'
          ? (files.set(p, call.args.content ?? ''), { success: true, result: `Successfully wrote ${p}` })
          : call.tool === 'read_file'
            ? files.has(p)
              ? { success: true, result: files.get(p) }
              : { success: false, result: `File not found: ${p}` }
            : { success: false, result: `Unknown tool: ${call.tool}` };
      reply(200, answer);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, calls, close: () => server.close() };
}
