#!/usr/bin/env node
// Stand-in for the Hugging Face hub: serves a directory tree at /{owner}/{name}/resolve/{revision}/{path} the way
// huggingface.co does for the download manager (HEAD, Range -> 206 with Content-Range, Accept-Ranges, ETag, CORS),
// with fault injection per file and a request log, so tests can interrupt, break and inspect downloads.
//
// Library:  import { startHub } from './e2e/hub/server.mjs';
//           const hub = await startHub({ root: 'fixtures/hub', repos: { 'fewstep/tiny': 'fixtures/generated/tiny' } });
//           hub.url; hub.setFault('fewstep/tiny/unet/*', { status: 500, times: 2 }); hub.log(); await hub.close();
// CLI:      node e2e/hub/server.mjs --root DIR [--port 8787] [--repo owner/name=DIR]... [--redirect]
//           env HUB_FAULTS='[{"pattern":"owner/name/unet/model.onnx","status":404}]'
// Control:  GET/DELETE /__hub/log, GET/POST/DELETE /__hub/faults, GET /__hub/health (not logged).
//
// Fault fields (all optional; `pattern` is "owner/name/path" with * wildcards):
//   status: N          answer with HTTP N instead of the file
//   times: K           apply the fault to K matching requests, then stop (default: always)
//   methods: [..]      only these methods (default GET and HEAD for status/reportSize, GET for body faults)
//   delayMs: N         wait before answering
//   throttle: B        send the body at B bytes per second (lets tests abort mid-download)
//   truncate: K        send K body bytes without a Content-Length, then end cleanly (short body)
//   closeAfter: K      announce the full length, send K bytes, then destroy the connection
//   contentLength: N   wrong Content-Length header (N < real: only N bytes sent; N > real: connection dropped)
//   reportSize: N      pretend the file has N bytes (HEAD Content-Length, Content-Range total)
//   noRange: true      ignore Range and answer 200 with the whole file, without Accept-Ranges
//   corrupt: true      flip the byte at file offset `corruptAt` (default 0) in whatever is sent

import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolve, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Content-Length, Content-Range, Accept-Ranges, ETag, X-Linked-Etag, X-Linked-Size, Location',
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

function globToRegExp(pattern) {
  const esc = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${esc}$`);
}

function parseRange(header, size) {
  // Single range only; anything else is ignored (RFC 9110 allows serving the full representation).
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start;
  let end;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Start the stand-in hub.
 * @param {{root?: string, port?: number, host?: string, repos?: Record<string,string>, faults?: object[],
 *          redirect?: boolean, logBodies?: boolean}} [opts]
 */
export async function startHub(opts = {}) {
  const root = resolve(opts.root ?? process.cwd());
  const repos = Object.fromEntries(Object.entries(opts.repos ?? {}).map(([k, v]) => [k, resolve(v)]));
  let faults = [];
  let log = [];
  let seq = 0;

  function addFault(f) {
    if (!f || typeof f.pattern !== 'string') throw new Error('fault needs a "pattern" like "owner/name/unet/model.onnx"');
    faults.push({ ...f, re: globToRegExp(f.pattern), remaining: f.times ?? Infinity });
  }
  for (const f of opts.faults ?? []) addFault(f);

  function takeFault(key, method) {
    for (const f of faults) {
      if (f.remaining <= 0 || !f.re.test(key)) continue;
      const bodyFault = f.throttle || f.truncate !== undefined || f.closeAfter !== undefined || f.contentLength !== undefined || f.noRange || f.corrupt;
      const methods = f.methods ?? (bodyFault && f.status === undefined && f.reportSize === undefined ? ['GET'] : ['GET', 'HEAD']);
      if (!methods.includes(method)) continue;
      f.remaining--;
      return f;
    }
    return null;
  }

  function repoDir(owner, name) {
    return repos[`${owner}/${name}`] ?? join(root, owner, name);
  }

  async function handleControl(req, res, url) {
    const send = (status, body) => {
      res.writeHead(status, { ...CORS, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const readBody = async () => {
      let s = '';
      for await (const c of req) s += c;
      return s ? JSON.parse(s) : null;
    };
    if (url.pathname === '/__hub/health') return send(200, { ok: true });
    if (url.pathname === '/__hub/log') {
      if (req.method === 'DELETE') {
        log = [];
        return send(200, { ok: true });
      }
      return send(200, log);
    }
    if (url.pathname === '/__hub/faults') {
      if (req.method === 'DELETE') {
        faults = [];
        return send(200, { ok: true });
      }
      if (req.method === 'POST') {
        const body = await readBody();
        for (const f of Array.isArray(body) ? body : [body]) addFault(f);
        return send(200, { ok: true });
      }
      return send(200, faults.map(({ re, ...f }) => ({ ...f, remaining: f.remaining === Infinity ? null : f.remaining })));
    }
    return send(404, { error: `unknown control endpoint ${url.pathname}` });
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://hub.local');
    if (url.pathname.startsWith('/__hub/')) {
      try {
        await handleControl(req, res, url);
      } catch (err) {
        res.writeHead(400, { ...CORS, 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: String(err?.message ?? err) }));
      }
      return;
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        ...CORS,
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': 'Range, If-Range, If-None-Match, Cache-Control, Content-Type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }

    const entry = {
      id: ++seq, time: Date.now(), method: req.method, path: url.pathname, key: null,
      range: req.headers.range ?? null, status: 0, bytes: 0, fault: null, aborted: false,
    };
    log.push(entry);
    let sent = 0;
    const finish = (status) => {
      entry.status = status;
    };
    res.on('close', () => {
      entry.bytes = sent;
      if (!res.writableFinished) entry.aborted = true;
    });
    const fail = (status, message) => {
      finish(status);
      res.writeHead(status, { ...CORS, 'Content-Type': 'text/plain; charset=utf-8', 'X-Error-Message': message });
      res.end(req.method === 'HEAD' ? undefined : message);
    };

    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'Method not allowed');

    // /{owner}/{name}/resolve/{revision}/{path...}   (or /__cdn/{owner}/{name}/{revision}/{path...} after a redirect)
    let parts;
    try {
      parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
    } catch {
      return fail(400, 'Bad path encoding');
    }
    let owner, name, revision, rel;
    if (parts[0] === '__cdn') [, owner, name, revision, ...rel] = parts;
    else if (parts[2] === 'resolve') [owner, name, , revision, ...rel] = parts;
    else return fail(404, 'Repository not found');
    if (!owner || !name || !revision || rel.length === 0 || rel.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) {
      return fail(404, 'Entry not found');
    }
    const key = `${owner}/${name}/${rel.join('/')}`;
    entry.key = key;

    if (opts.redirect && parts[0] !== '__cdn') {
      // huggingface.co answers LFS files with a 302 to its CDN; fetch follows it and keeps the Range header.
      const loc = `/__cdn/${[owner, name, revision, ...rel].map(encodeURIComponent).join('/')}`;
      finish(302);
      res.writeHead(302, { ...CORS, Location: loc });
      res.end();
      return;
    }

    const fault = takeFault(key, req.method);
    if (fault) entry.fault = fault.pattern;
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.status) return fail(fault.status, `Injected HTTP ${fault.status}`);

    const dir = repoDir(owner, name);
    const file = join(dir, ...rel);
    if (!file.startsWith(dir + sep)) return fail(404, 'Entry not found');
    let st;
    try {
      st = await stat(file);
    } catch {
      st = null;
    }
    if (!st || !st.isFile()) return fail(404, 'Entry not found');

    const realSize = st.size;
    const size = fault?.reportSize ?? realSize;
    const etag = `"${createHash('sha1').update(`${file}:${realSize}:${st.mtimeMs}`).digest('hex')}"`;
    const headers = { ...CORS, 'Content-Type': 'application/octet-stream', ETag: etag };
    if (!fault?.noRange) headers['Accept-Ranges'] = 'bytes';

    let start = 0;
    let end = realSize - 1;
    let status = 200;
    const range = fault?.noRange ? null : req.headers.range ? parseRange(req.headers.range, size) : null;
    if (range === 'unsatisfiable') {
      finish(416);
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    if (range) {
      status = 206;
      start = range.start;
      end = Math.min(range.end, realSize - 1);
      headers['Content-Range'] = `bytes ${start}-${range.end}/${size}`;
    }
    let length = Math.max(0, end - start + 1);
    if (!range) headers['Content-Length'] = String(status === 200 && fault?.reportSize !== undefined && req.method === 'HEAD' ? size : length);
    else headers['Content-Length'] = String(length);
    if (fault?.contentLength !== undefined) headers['Content-Length'] = String(fault.contentLength);
    if (fault?.truncate !== undefined) delete headers['Content-Length'];

    finish(status);
    if (req.method === 'HEAD') {
      if (fault?.reportSize !== undefined) headers['Content-Length'] = String(size);
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, headers);

    // Body: how many bytes to send, and whether to drop the connection afterwards.
    let limit = length;
    let destroyAfter = false;
    if (fault?.truncate !== undefined) limit = Math.min(length, fault.truncate);
    if (fault?.closeAfter !== undefined) {
      limit = Math.min(length, fault.closeAfter);
      destroyAfter = true;
    }
    if (fault?.contentLength !== undefined) {
      if (fault.contentLength < length) limit = Math.min(limit, fault.contentLength);
      else if (fault.contentLength > length) destroyAfter = true;
    }

    const fh = await open(file, 'r');
    try {
      const slice = fault?.throttle ? Math.max(1, Math.floor(fault.throttle / 20)) : 256 * 1024;
      let pos = start;
      while (sent < limit && !res.destroyed) {
        const n = Math.min(slice, limit - sent);
        const buf = Buffer.alloc(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead === 0) break;
        const chunk = buf.subarray(0, bytesRead);
        if (fault?.corrupt) {
          const at = (fault.corruptAt ?? 0) - pos;
          if (at >= 0 && at < chunk.length) chunk[at] ^= 0xff;
        }
        pos += bytesRead;
        const ok = res.write(chunk);
        sent += bytesRead;
        if (!ok) await new Promise((r) => res.once('drain', r));
        if (fault?.throttle) await sleep(50);
      }
    } finally {
      await fh.close();
    }
    if (destroyAfter || (limit < length && fault?.truncate === undefined && fault?.contentLength === undefined)) {
      entry.bytes = sent;
      res.destroy();
      return;
    }
    res.end();
  });

  await new Promise((r, j) => {
    server.once('error', j);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => r());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host ?? '127.0.0.1';

  return {
    url: `http://${host}:${port}`,
    port,
    root,
    setFault(pattern, fault) {
      addFault({ pattern, ...fault });
    },
    clearFaults() {
      faults = [];
    },
    log() {
      return log.map((e) => ({ ...e }));
    },
    clearLog() {
      log = [];
    },
    close() {
      return new Promise((r) => {
        server.closeAllConnections?.();
        server.close(() => r());
      });
    },
  };
}

function parseArgs(argv) {
  const out = { repos: {}, faults: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') out.root = argv[++i];
    else if (a === '--port') out.port = Number(argv[++i]);
    else if (a === '--host') out.host = argv[++i];
    else if (a === '--redirect') out.redirect = true;
    else if (a === '--repo') {
      const [k, v] = argv[++i].split('=');
      out.repos[k] = v;
    } else if (a === '--help' || a === '-h') out.help = true;
    else throw new Error(`Unknown argument "${a}". Use --root DIR --port N --repo owner/name=DIR --redirect`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log('node e2e/hub/server.mjs --root DIR [--port 8787] [--host 127.0.0.1] [--repo owner/name=DIR]... [--redirect]\n' +
      'env HUB_FAULTS=<JSON array of faults>; control endpoints under /__hub/');
    process.exit(0);
  }
  const faults = process.env.HUB_FAULTS ? JSON.parse(process.env.HUB_FAULTS) : [];
  const hub = await startHub({
    root: args.root ?? process.env.HUB_ROOT ?? process.cwd(),
    port: args.port ?? Number(process.env.HUB_PORT ?? 8787),
    host: args.host,
    repos: args.repos,
    faults,
    redirect: args.redirect,
  });
  console.log(`stand-in hub on ${hub.url} serving ${hub.root}`);
  const stop = () => hub.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
