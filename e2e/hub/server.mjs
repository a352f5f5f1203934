#!/usr/bin/env node
// Stand-in for the Hugging Face hub: serves a directory tree at /{owner}/{name}/resolve/{revision}/{path} the way
// huggingface.co does for the download manager (HEAD, Range -> 206 with Content-Range, Accept-Ranges, ETag, CORS,
// a 302 to a CDN on another origin), with fault injection per file and a request log, so tests can interrupt, break
// and inspect downloads. Every behaviour of the real hub that a download has to survive is a fault, selectable per
// test and per file.
//
// Library:  import { startHub } from './e2e/hub/server.mjs';
//           const hub = await startHub({ root: 'fixtures/hub', repos: { 'fewstep/tiny': 'fixtures/generated/tiny' } });
//           hub.url; hub.setFault('fewstep/tiny/unet/*', { status: 500, times: 2 }); hub.log(); await hub.close();
// CLI:      node e2e/hub/server.mjs --root DIR [--port 8787] [--repo owner/name=DIR]... [--redirect [cross-origin]]
//           env HUB_FAULTS='[{"pattern":"owner/name/unet/model.onnx","status":404}]'
// Control:  GET/DELETE /__hub/log, GET/POST/DELETE /__hub/faults, GET /__hub/health (not logged).
//
// Redirects: `redirect: true` (or 'same-origin') answers /resolve/ with a 302 to /__cdn/... on the hub itself;
// 'cross-origin' starts a second server on another port (the "CDN", hub.cdnUrl) and redirects there, as
// huggingface.co does for LFS files (to cdn-lfs*.hf.co / cas-bridge.xethub.hf.co). The 302 carries X-Linked-Size
// and X-Linked-Etag like the real one (a browser cannot read them: fetch only shows the final response).
// The same can be chosen per file with the `redirect` fault. Faults other than `redirect` apply to the response that
// carries the bytes (the CDN's when redirected), never to the 302 itself.
//
// Fault fields (all optional; `pattern` is "owner/name/path" with * wildcards; every active fault that matches a
// request applies, later ones overriding earlier ones field by field):
//   status: N          answer with HTTP N instead of the file
//   times: K           apply the fault to K matching requests, then stop (default: always)
//   after: K           let the first K matching requests through untouched, then apply the fault
//   methods: [..]      only these methods (default: GET for body faults, HEAD for headNoLength, else GET and HEAD)
//   redirect: 'same-origin' | 'cross-origin'   302 this file to the CDN path (per file, instead of startHub's option)
//   delayMs: N         wait before answering
//   throttle: B        send the body at B bytes per second (lets tests abort mid-download)
//   truncate: K        send K body bytes without a Content-Length, then end cleanly (short body)
//   closeAfter: K      announce the full length, send K bytes, then destroy the connection (dropped connection)
//   stallAfter: K      announce the full length, send K bytes, then send nothing more and keep the connection open
//   reset: true        destroy the connection before any response (connection reset)
//   contentLength: N   wrong Content-Length header (N < real: only N bytes sent; N > real: connection dropped)
//   reportSize: N      pretend the file has N bytes (HEAD Content-Length, Content-Range total)
//   noRange: true      ignore Range and answer 200 with the whole file, without Accept-Ranges
//   corrupt: true      flip the byte at file offset `corruptAt` (default 0) in whatever is sent
//   headNoLength: true HEAD answers 200 without Content-Length (or X-Linked-Size)
//   exposeHeaders: [..] the Access-Control-Expose-Headers list (default exposes Content-Range, ETag, ...); e.g.
//                      ['ETag'] hides Content-Range from a page, as CDNs that do not expose it do
//   omitHeaders: [..]  response headers not sent at all (e.g. ['Content-Range'], ['ETag']): what a page sees when
//                      the header is not exposed, for clients that do not filter CORS headers (Node's fetch)
//   noCors: true       no Access-Control-Allow-Origin: a page may not read the response (fetch rejects)
//   etag: '"v2"'       send this ETag instead of the file's own
//   swapTo: 'path'     serve another file of the same repo instead (its bytes, size and ETag): with `after`, the
//                      file changes on the server in the middle of a download
//   html: true         answer 200 text/html with a web page instead of the file (an error, login or SPA page)

import { createServer } from 'node:http';
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { resolve, join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Headers a page may read by default (huggingface.co exposes these and more). */
export const DEFAULT_EXPOSED = ['Content-Length', 'Content-Range', 'Accept-Ranges', 'ETag', 'X-Linked-Etag', 'X-Linked-Size', 'Location'];

const CORS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': DEFAULT_EXPOSED.join(', '),
  'Cross-Origin-Resource-Policy': 'cross-origin',
};

/** Fields that change the body (GET only by default). */
const BODY_FAULTS = ['throttle', 'truncate', 'closeAfter', 'stallAfter', 'contentLength', 'noRange', 'corrupt'];

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>Hugging Face</title></head><body><h1>Sign in to continue</h1>' +
  '<p>This page stands in for an error, login or single-page-app answer served instead of a file.</p></body></html>\n';

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
 * Start the stand-in hub (and, for `redirect: 'cross-origin'`, its CDN on a second port).
 * @param {import('./server.d.mts').HubOptions} [opts]
 * @returns {Promise<import('./server.d.mts').Hub>}
 */
export async function startHub(opts = {}) {
  const root = resolve(opts.root ?? process.cwd());
  const repos = Object.fromEntries(Object.entries(opts.repos ?? {}).map(([k, v]) => [k, resolve(v)]));
  const globalRedirect = opts.redirect === true ? 'same-origin' : opts.redirect || null;
  if (globalRedirect && globalRedirect !== 'same-origin' && globalRedirect !== 'cross-origin') {
    throw new Error(`redirect must be true, 'same-origin' or 'cross-origin', received ${JSON.stringify(opts.redirect)}`);
  }
  let faults = [];
  let log = [];
  let seq = 0;
  /** Set once the CDN listens: the origin 'cross-origin' redirects point at. */
  let cdnOrigin = null;

  function addFault(f) {
    if (!f || typeof f.pattern !== 'string') throw new Error('fault needs a "pattern" like "owner/name/unet/model.onnx"');
    if (f.redirect !== undefined && f.redirect !== 'same-origin' && f.redirect !== 'cross-origin') {
      throw new Error(`fault.redirect must be 'same-origin' or 'cross-origin', received ${JSON.stringify(f.redirect)}`);
    }
    faults.push({ ...f, re: globToRegExp(f.pattern), remaining: f.times ?? Infinity, skipped: 0 });
  }
  for (const f of opts.faults ?? []) addFault(f);

  function defaultMethods(f) {
    if (f.headNoLength && Object.keys(f).every((k) => ['pattern', 'headNoLength', 'times', 'after', 're', 'remaining', 'skipped'].includes(k))) return ['HEAD'];
    const body = BODY_FAULTS.some((k) => f[k] !== undefined && f[k] !== false);
    return body && f.status === undefined && f.reportSize === undefined ? ['GET'] : ['GET', 'HEAD'];
  }

  /**
   * Every active fault for this request, merged (later ones win field by field). `redirecting` picks the faults that
   * decide a redirect (only `redirect` ones) or those that shape the response with the bytes (all others).
   */
  function takeFaults(key, method, redirecting) {
    let merged = null;
    for (const f of faults) {
      if (f.remaining <= 0 || !f.re.test(key)) continue;
      if ((f.redirect !== undefined) !== redirecting) continue;
      if (!(f.methods ?? defaultMethods(f)).includes(method)) continue;
      if (f.skipped < (f.after ?? 0)) {
        f.skipped++;
        continue;
      }
      f.remaining--;
      const { re: _re, remaining: _r, skipped: _s, times: _t, after: _a, methods: _m, ...fields } = f;
      merged = { ...(merged ?? {}), ...fields, pattern: merged ? `${merged.pattern} + ${f.pattern}` : f.pattern };
    }
    return merged;
  }

  function repoDir(owner, name) {
    return repos[`${owner}/${name}`] ?? join(root, owner, name);
  }

  /** The served file for `rel` of a repo, or null when it is not a file inside the repo. */
  async function locate(owner, name, rel) {
    const dir = repoDir(owner, name);
    const file = join(dir, ...rel);
    if (!file.startsWith(dir + sep)) return null;
    try {
      const st = await stat(file);
      return st.isFile() ? { file, st } : null;
    } catch {
      return null;
    }
  }

  const etagOf = (file, st) => `"${createHash('sha1').update(`${file}:${st.size}:${st.mtimeMs}`).digest('hex')}"`;

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
      return send(200, faults.map(({ re: _re, ...f }) => ({ ...f, remaining: f.remaining === Infinity ? null : f.remaining })));
    }
    return send(404, { error: `unknown control endpoint ${url.pathname}` });
  }

  /** One handler for both servers; `origin` says which one answered ('hub' or 'cdn'). */
  const handler = (origin) => async (req, res) => {
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
      id: ++seq, time: Date.now(), method: req.method, path: url.pathname, key: null, origin,
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
    const viaCdn = parts[0] === '__cdn';
    if (viaCdn) [, owner, name, revision, ...rel] = parts;
    else if (parts[2] === 'resolve') [owner, name, , revision, ...rel] = parts;
    else return fail(404, 'Repository not found');
    if (!owner || !name || !revision || rel.length === 0 || rel.some((s) => s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0'))) {
      return fail(404, 'Entry not found');
    }
    const key = `${owner}/${name}/${rel.join('/')}`;
    entry.key = key;

    if (!viaCdn) {
      const rf = takeFaults(key, req.method, true);
      const mode = rf?.redirect ?? globalRedirect;
      if (mode) {
        // huggingface.co answers LFS files with a 302 to its CDN; fetch follows it and keeps the Range header.
        if (rf) entry.fault = rf.pattern;
        const found = await locate(owner, name, rel);
        if (!found) return fail(404, 'Entry not found');
        const path = `/__cdn/${[owner, name, revision, ...rel].map(encodeURIComponent).join('/')}`;
        finish(302);
        res.writeHead(302, {
          ...CORS,
          Location: mode === 'cross-origin' ? `${cdnOrigin}${path}` : path,
          'X-Linked-Size': String(found.st.size),
          'X-Linked-Etag': etagOf(found.file, found.st),
        });
        res.end();
        return;
      }
    }

    const fault = takeFaults(key, req.method, false);
    if (fault) entry.fault = fault.pattern;
    if (fault?.reset) {
      finish(0);
      req.socket.destroy();
      return;
    }
    if (fault?.delayMs) await sleep(fault.delayMs);
    if (fault?.status) return fail(fault.status, `Injected HTTP ${fault.status}`);

    const cors = { ...CORS };
    if (fault?.exposeHeaders) cors['Access-Control-Expose-Headers'] = fault.exposeHeaders.join(', ');
    if (fault?.noCors) {
      delete cors['Access-Control-Allow-Origin'];
      delete cors['Access-Control-Expose-Headers'];
    }
    if (fault?.html) {
      finish(200);
      const body = Buffer.from(HTML_PAGE);
      res.writeHead(200, { ...cors, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      sent = req.method === 'HEAD' ? 0 : body.length;
      return;
    }

    const found = await locate(owner, name, fault?.swapTo ? fault.swapTo.split('/') : rel);
    if (!found) return fail(404, 'Entry not found');
    const { file, st } = found;

    const realSize = st.size;
    const size = fault?.reportSize ?? realSize;
    const headers = { ...cors, 'Content-Type': 'application/octet-stream', ETag: fault?.etag ?? etagOf(file, st) };
    if (!fault?.noRange) headers['Accept-Ranges'] = 'bytes';

    let start = 0;
    let end = realSize - 1;
    let status = 200;
    const range = fault?.noRange ? null : req.headers.range ? parseRange(req.headers.range, size) : null;
    const omit = (h) => {
      for (const k of fault?.omitHeaders ?? []) for (const name of Object.keys(h)) if (name.toLowerCase() === k.toLowerCase()) delete h[name];
      return h;
    };
    if (range === 'unsatisfiable') {
      finish(416);
      res.writeHead(416, omit({ ...headers, 'Content-Range': `bytes */${size}` }));
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
      if (fault?.headNoLength) delete headers['Content-Length'];
      res.writeHead(status, omit(headers));
      res.end();
      return;
    }
    res.writeHead(status, omit(headers));

    // Body: how many bytes to send, and whether to drop the connection afterwards.
    let limit = length;
    let destroyAfter = false;
    let stall = false;
    if (fault?.truncate !== undefined) limit = Math.min(length, fault.truncate);
    if (fault?.closeAfter !== undefined) {
      limit = Math.min(length, fault.closeAfter);
      destroyAfter = true;
    }
    if (fault?.stallAfter !== undefined) {
      limit = Math.min(length, fault.stallAfter);
      stall = true;
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
        // A client that goes away mid-body (an aborted probe) never drains: stop waiting when the response closes.
        if (!ok) await new Promise((r) => {
          res.once('drain', r);
          res.once('close', r);
        });
        if (fault?.throttle) await sleep(50);
      }
    } finally {
      await fh.close();
    }
    if (stall) {
      // Nothing more is sent; the client gives up (or hub.close() ends the connection).
      entry.bytes = sent;
      return;
    }
    if (destroyAfter || (limit < length && fault?.truncate === undefined && fault?.contentLength === undefined)) {
      entry.bytes = sent;
      res.destroy();
      return;
    }
    res.end();
  };

  const host = opts.host ?? '127.0.0.1';
  const listen = async (server, port) => {
    await new Promise((r, j) => {
      server.once('error', j);
      server.listen(port, host, () => r());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  };
  const server = createServer(handler('hub'));
  const port = await listen(server, opts.port ?? 0);
  // The CDN: a second origin (another port) serving the same /__cdn/ paths. Always started, since a per-file
  // `redirect` fault may point at it at any time.
  const cdn = createServer(handler('cdn'));
  const cdnPort = await listen(cdn, opts.cdnPort ?? 0);
  cdnOrigin = `http://${host}:${cdnPort}`;
  const closeServer = (s) =>
    new Promise((r) => {
      s.closeAllConnections?.();
      s.close(() => r());
    });

  return {
    url: `http://${host}:${port}`,
    port,
    cdnUrl: cdnOrigin,
    cdnPort,
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
    async close() {
      await Promise.all([closeServer(server), closeServer(cdn)]);
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
    else if (a === '--redirect') out.redirect = argv[i + 1] === 'cross-origin' || argv[i + 1] === 'same-origin' ? argv[++i] : true;
    else if (a === '--repo') {
      const [k, v] = argv[++i].split('=');
      out.repos[k] = v;
    } else if (a === '--help' || a === '-h') out.help = true;
    else throw new Error(`Unknown argument "${a}". Use --root DIR --port N --repo owner/name=DIR --redirect [same-origin|cross-origin]`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log('node e2e/hub/server.mjs --root DIR [--port 8787] [--host 127.0.0.1] [--repo owner/name=DIR]... [--redirect [same-origin|cross-origin]]\n' +
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
  console.log(`stand-in hub on ${hub.url} (CDN ${hub.cdnUrl}) serving ${hub.root}`);
  const stop = () => hub.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
