import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Hugging Face Hub: the endpoints `@huggingface/hub` calls to create a
 * dataset repo and commit files to it (repo info, create, preupload, the LFS batch API with a
 * basic transfer, the LFS PUT, and the NDJSON commit). Files above `lfsThreshold` bytes go through
 * LFS, as large files do on the Hub. Requests without the expected bearer token get a 401.
 */
export interface HubServer {
  url: string;
  /** Files of each repo (`owner/name`), by path, as committed. */
  repos: Map<string, Map<string, Buffer>>;
  /** Every request: method, path, and whether it carried the right token. */
  requests: { method: string; path: string; authorized: boolean; body: string }[];
  close(): Promise<void>;
}

export async function startHubServer(opts: { token: string; lfsThreshold?: number }): Promise<HubServer> {
  const repos = new Map<string, Map<string, Buffer>>();
  const lfs = new Map<string, Buffer>();
  const requests: HubServer['requests'] = [];
  const lfsThreshold = opts.lfsThreshold ?? 10 * 1024 * 1024;
  let url = '';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const p = new URL(req.url ?? '/', 'http://hub').pathname;
      const authorized = req.headers.authorization === `Bearer ${opts.token}`;
      requests.push({ method: req.method ?? '', path: p, authorized, body: body.toString('utf8') });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const lfsPut = /^\/lfs-upload\/([0-9a-f]{64})$/.exec(p);
      if (req.method === 'PUT' && lfsPut) {
        // The basic LFS transfer is a plain PUT to the href the batch answer gave; the oid is its sha256.
        const oid = lfsPut[1]!;
        if (createHash('sha256').update(body).digest('hex') !== oid) return json(400, { error: 'sha256 mismatch' });
        lfs.set(oid, body);
        res.writeHead(200);
        return res.end();
      }
      if (!authorized) return json(401, { error: 'Invalid credentials in Authorization header' });
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && (m = /^\/api\/datasets\/([^/]+\/[^/]+)$/.exec(p))) {
        return repos.has(m[1]!) ? json(200, { id: m[1] }) : json(404, { error: 'Repository not found' });
      }
      if (req.method === 'POST' && p === '/api/repos/create') {
        const b = JSON.parse(body.toString('utf8')) as { name: string; organization: string; type: string };
        const id = `${b.organization}/${b.name}`;
        if (b.type !== 'dataset') return json(400, { error: `expected a dataset repo, got ${b.type}` });
        if (repos.has(id)) return json(409, { error: 'You already created this dataset repo' });
        repos.set(id, new Map());
        return json(200, { url: `${url}/datasets/${id}` });
      }
      if (req.method === 'POST' && (m = /^\/api\/datasets\/([^/]+\/[^/]+)\/preupload\/([^/]+)$/.exec(p))) {
        if (!repos.has(m[1]!)) return json(404, { error: 'Repository not found' });
        const b = JSON.parse(body.toString('utf8')) as { files: { path: string; size: number }[] };
        return json(200, { files: b.files.map((f) => ({ path: f.path, uploadMode: f.size > lfsThreshold ? 'lfs' : 'regular' })) });
      }
      if (req.method === 'POST' && (m = /^\/datasets\/([^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(p))) {
        const b = JSON.parse(body.toString('utf8')) as { transfers: string[]; objects: { oid: string; size: number }[] };
        if (!b.transfers.includes('basic')) return json(422, { message: 'basic transfer required' });
        res.writeHead(200, { 'content-type': 'application/vnd.git-lfs+json' });
        return res.end(
          JSON.stringify({
            transfer: 'basic',
            objects: b.objects.map((o) => ({ oid: o.oid, size: o.size, actions: { upload: { href: `${url}/lfs-upload/${o.oid}` } } })),
          }),
        );
      }
      if (req.method === 'POST' && (m = /^\/api\/datasets\/([^/]+\/[^/]+)\/commit\/([^/]+)$/.exec(p))) {
        const files = repos.get(m[1]!);
        if (!files) return json(404, { error: 'Repository not found' });
        const lines = body
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { key: string; value: Record<string, string> });
        for (const { key, value } of lines) {
          if (key === 'file') files.set(value.path!, Buffer.from(value.content!, value.encoding === 'base64' ? 'base64' : 'utf8'));
          else if (key === 'lfsFile') {
            const blob = lfs.get(value.oid!);
            if (!blob) return json(400, { error: `LFS object ${value.oid} was never uploaded` });
            files.set(value.path!, blob);
          }
        }
        const oid = createHash('sha1').update(body).digest('hex');
        return json(200, { commitOid: oid, commitUrl: `${url}/datasets/${m[1]}/commit/${oid}` });
      }
      return json(404, { error: `no route ${req.method} ${p}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, repos, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
