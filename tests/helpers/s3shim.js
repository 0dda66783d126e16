#!/usr/bin/env node
// s3shim.js — a reverse proxy in front of s3rver for the tests (ADR 0231).
//
// s3rver ignores `If-None-Match: *`, so on its own two writers can both
// "create" one Delta commit. This proxy forwards every request verbatim
// (method, path, query, headers including Host, body), so the client signs
// for the shim's host:port and the signature stays what it signed, and adds
// what s3rver lacks: a PUT carrying `If-None-Match: *` is serialised with
// every other such PUT of the same key, preceded by a HEAD upstream, and
// answered 412 PreconditionFailed when the object exists.
//
// Test controls (paths under /_shim/, which no S3 bucket name can take):
//   POST /_shim/fail?method=PUT&count=N&status=503   the next N requests of
//        that method (or "*") are answered with status (503, 500, 429, ...)
//        or, with status=drop, their connection is closed unanswered, or,
//        with status=lost, forwarded and then closed before the answer
//   GET  /_shim/stats   {"requests":{"PUT":n,...},"injected":n,"refused":n,
//                        "recent":["PUT /bucket/key",...]}  (the last 200 requests)
//   POST /_shim/reset   zeroes the counters and pending failures
//
// Usage: node s3shim.js --upstream 127.0.0.1:PORT [--port P]  (prints "PORT n")
'use strict';
const http = require('http');

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}
const [upHost, upPort] = arg('upstream', '127.0.0.1:4568').split(':');
const listenPort = parseInt(arg('port', '0'), 10);

const RECENT_MAX = 200;
let stats = { requests: {}, injected: 0, refused: 0, recent: [] };
let failures = []; // {method, left, status}
const keyTails = new Map(); // key -> promise of the last conditional PUT on it

function upstream(req, method, headers) {
  return http.request({ host: upHost, port: upPort, method, path: req.url, headers });
}

// Forwards req as is and pipes the answer back.
function forward(req, res) {
  const up = upstream(req, req.method, req.headers);
  up.on('response', (ur) => {
    res.writeHead(ur.statusCode, ur.headers);
    ur.pipe(res);
  });
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(up);
  return new Promise((resolve) => res.on('close', resolve));
}

function headExists(req) {
  return new Promise((resolve) => {
    const h = Object.assign({}, req.headers);
    delete h['content-length'];
    delete h['if-none-match'];
    delete h['transfer-encoding'];
    const up = upstream(req, 'HEAD', h);
    up.on('response', (ur) => {
      ur.resume();
      resolve(ur.statusCode);
    });
    up.on('error', () => resolve(502));
    up.end();
  });
}

function xmlError(res, status, code, message) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

// PUT with If-None-Match: *, one at a time per key: HEAD, then 412 or forward.
function conditionalPut(req, res) {
  const key = req.url.split('?')[0];
  const prev = keyTails.get(key) || Promise.resolve();
  const run = prev.then(async () => {
    const st = await headExists(req);
    if (st === 200) {
      stats.refused++;
      req.resume();
      xmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return;
    }
    if (st !== 404) {
      req.resume();
      xmlError(res, 503, 'ServiceUnavailable', 'shim: HEAD before the conditional PUT answered ' + st);
      return;
    }
    await forward(req, res);
  });
  const tail = run.catch(() => {});
  keyTails.set(key, tail);
  tail.then(() => { if (keyTails.get(key) === tail) keyTails.delete(key); });
}

function control(req, res, url) {
  const q = url.searchParams;
  if (url.pathname === '/_shim/fail') {
    failures.push({ method: (q.get('method') || '*').toUpperCase(), left: parseInt(q.get('count') || '1', 10),
                    status: q.get('status') || '503' });
  } else if (url.pathname === '/_shim/reset') {
    stats = { requests: {}, injected: 0, refused: 0, recent: [] };
    failures = [];
  } else if (url.pathname !== '/_shim/stats') {
    res.writeHead(404);
    return res.end();
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(stats));
}

// An injected failure for this request, if one is pending.
function takeFailure(method) {
  for (const f of failures) {
    if (f.left > 0 && (f.method === '*' || f.method === method)) {
      f.left--;
      stats.injected++;
      return f.status;
    }
  }
  return null;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://shim');
  if (url.pathname.startsWith('/_shim/')) return control(req, res, url);
  stats.requests[req.method] = (stats.requests[req.method] || 0) + 1;
  stats.recent.push(req.method + ' ' + url.pathname + url.search);
  if (stats.recent.length > RECENT_MAX) stats.recent.shift();
  const fail = takeFailure(req.method);
  if (fail === 'drop') {
    req.socket.destroy();
    return;
  }
  if (fail === 'lost') { // the request reaches s3rver, its answer never comes back
    const up = upstream(req, req.method, req.headers);
    up.on('response', (ur) => { ur.resume(); ur.on('end', () => req.socket.destroy()); });
    up.on('error', () => req.socket.destroy());
    req.pipe(up);
    return;
  }
  if (fail) {
    req.resume();
    const code = fail === '429' ? 'SlowDown' : 'ServiceUnavailable';
    return xmlError(res, parseInt(fail, 10), code, 'shim: injected failure');
  }
  if (req.method === 'PUT' && (req.headers['if-none-match'] || '').trim() === '*') return conditionalPut(req, res);
  forward(req, res);
});
server.listen(listenPort, '127.0.0.1', () => {
  console.log('PORT ' + server.address().port);
});
