#!/usr/bin/env node
// ai_server.js — a mock model server for the AI provider tests (Node 20, no
// packages). It speaks Ollama's wire format (/api/embed, /api/embeddings,
// /api/generate, /api/chat, /api/tags, /api/version) and the OpenAI one
// (/v1/embeddings, /v1/chat/completions, /v1/models), plus a cross-encoder
// rerank endpoint (POST /v1/rerank {model, query, documents} →
// {results: [{index, relevance_score}]}, best first, the llama.cpp / Jina
// shape), and can be told to misbehave.
//
//   node tests/mock/ai_server.js [--port N]     (0 = any; prints "PORT <n>")
//
// Control (not counted in the stats):
//   POST /__control {"mode": "ok" | "garbage" | "badshape" | "fail" | "hang" | "missing_model",
//                    "status": 429|500|503 (for fail), "times": n (default: forever, then "ok"),
//                    "dims": n (embedding size, default 16), "reply": "fixed generated text",
//                    "replies": ["first answer", "second answer", ...] (used once each, before "reply")}
//   GET  /__stats   {"total", "requests": {path: n}, "connections" (that carried model
//                    requests), "batches": [sizes],
//                    "last": {"path", "body", "auth"}}
//   POST /__reset   back to mode ok and zero stats
//
// Rerank scores are deterministic: the share of the query's words (lowercase
// letters/digits runs of 2+ characters) that the document holds, so a test
// can predict the order; "badshape" drops one result.
//
// Embeddings are deterministic: letter counts folded into `dims` buckets, so
// texts sharing words come out close. Models whose name starts with
// "missing" never exist; in "missing_model" mode none does. OpenAI answers
// list embeddings in reverse order (with their "index") so clients must
// sort. "garbage" answers 200 with HTML; "badshape" answers JSON with one
// embedding too few and no generated text; "hang" never answers.
'use strict';
const http = require('http');

const state = { mode: 'ok', status: 500, times: -1, dims: 16, reply: null, replies: [] };
let stats;
let seenSockets = new WeakSet(); // sockets that carried model requests
const hung = new Set();
const loaded = new Map(); // model name -> keep_alive, as /api/ps reports

function resetStats() {
  stats = { total: 0, requests: {}, connections: 0, batches: [], last: null };
  seenSockets = new WeakSet();
}
resetStats();

function send(res, status, body, headers = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}

function vector(text, dims) {
  const v = new Array(dims).fill(0);
  for (const ch of String(text).toLowerCase()) {
    const c = ch.codePointAt(0);
    if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) v[c % dims] += 1;
  }
  v[0] += 0.25; // never the zero vector
  return v;
}

function isOpenAI(path) { return path.startsWith('/v1/'); }

function modelMissing(model) {
  return state.mode === 'missing_model' || (typeof model === 'string' && model.startsWith('missing'));
}

function missingModel(res, path, model) {
  if (isOpenAI(path)) {
    return send(res, 404, { error: { message: `The model \`${model}\` does not exist or you do not have access to it.`,
      type: 'invalid_request_error', param: null, code: 'model_not_found' } });
  }
  return send(res, 404, { error: `model "${model}" not found, try pulling it first` });
}

function generatedText(req, system, prompt) {
  if (state.replies.length) return state.replies.shift();
  if (state.reply !== null) return state.reply;
  return `[mock:${req.model}] ` + (system ? `system=${system} | ` : '') + `echo: ${prompt}`;
}

function embed(res, path, req) {
  let input = req.input !== undefined ? req.input : req.prompt;
  if (!Array.isArray(input)) input = [input];
  stats.batches.push(input.length);
  const n = state.mode === 'badshape' ? Math.max(0, input.length - 1) : input.length;
  const rows = input.slice(0, n).map((t) => vector(t, state.dims));
  if (path === '/api/embeddings') return send(res, 200, { embedding: rows[0] || [] });
  if (!isOpenAI(path)) return send(res, 200, { model: req.model, embeddings: rows });
  const data = rows.map((e, i) => ({ object: 'embedding', index: i, embedding: e })).reverse();
  return send(res, 200, { object: 'list', data, model: req.model,
    usage: { prompt_tokens: n, total_tokens: n } });
}

function words(text) {
  return String(text).toLowerCase().match(/[a-z0-9]{2,}/g) || [];
}

function rerank(res, req) {
  const docs = Array.isArray(req.documents) ? req.documents : [];
  if (typeof req.query !== 'string') return send(res, 400, { error: 'query must be a string' });
  const q = [...new Set(words(req.query))];
  let results = docs.map((d, index) => {
    const w = new Set(words(d));
    const hit = q.filter((t) => w.has(t)).length;
    return { index, relevance_score: q.length ? hit / q.length : 0 };
  });
  results.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  if (state.mode === 'badshape') results = results.slice(1);
  return send(res, 200, { model: req.model, results });
}

function generate(res, path, req) {
  const bad = state.mode === 'badshape';
  const now = new Date().toISOString();
  if (path === '/api/generate') {
    // keep_alive 0 unloads, an empty prompt only loads (GET /api/ps lists loaded models)
    if (req.keep_alive === 0 || req.keep_alive === '0') { loaded.delete(req.model); return send(res, 200, { model: req.model, created_at: now, response: '', done: true, done_reason: 'unload' }); }
    loaded.set(req.model, req.keep_alive === undefined ? '5m' : String(req.keep_alive));
    if (!req.prompt) return send(res, 200, { model: req.model, created_at: now, response: '', done: true, done_reason: 'load' });
    const r = { model: req.model, created_at: now, done: true };
    if (!bad) r.response = generatedText(req, req.system, req.prompt);
    return send(res, 200, r);
  }
  const msgs = Array.isArray(req.messages) ? req.messages : [];
  const sys = msgs.filter((m) => m.role === 'system').map((m) => m.content).join(' ');
  const user = msgs.filter((m) => m.role === 'user').map((m) => m.content).join(' ');
  const message = { role: 'assistant', content: generatedText(req, sys, user) };
  if (path === '/api/chat') return send(res, 200, bad ? { model: req.model, done: true } : { model: req.model, created_at: now, message, done: true });
  return send(res, 200, bad ? { choices: [] } : { id: 'mock', object: 'chat.completion', model: req.model,
    choices: [{ index: 0, message, finish_reason: 'stop' }] });
}

function control(res, path, body) {
  if (path === '/__stats') return send(res, 200, stats);
  if (path === '/__reset') {
    Object.assign(state, { mode: 'ok', status: 500, times: -1, dims: 16, reply: null, replies: [] });
    resetStats();
    for (const r of hung) r.destroy();
    hung.clear();
    return send(res, 200, { ok: true });
  }
  let c;
  try { c = JSON.parse(body || '{}'); } catch { return send(res, 400, { error: 'bad control JSON' }); }
  if (c.mode !== undefined) state.mode = c.mode;
  if (c.status !== undefined) state.status = c.status;
  state.times = c.times !== undefined ? c.times : -1;
  if (c.dims !== undefined) state.dims = c.dims;
  if (c.reply !== undefined) state.reply = c.reply;
  if (Array.isArray(c.replies)) state.replies = c.replies.slice();
  return send(res, 200, state);
}

// Applies the misbehaviour of the current mode; true when it answered.
function misbehave(req, res) {
  const m = state.mode;
  if (m === 'ok' || m === 'missing_model' || m === 'badshape') return false;
  if (state.times === 0) { state.mode = 'ok'; return false; }
  if (state.times > 0) state.times--;
  if (m === 'hang') { hung.add(req.socket); return true; }
  if (m === 'garbage') { res.writeHead(200, { 'Content-Type': 'text/html' }); res.end('<html><body>502 oops</body></html>'); return true; }
  if (m === 'fail') {
    const headers = state.status === 429 || state.status === 503 ? { 'Retry-After': '0' } : {};
    send(res, state.status, { error: state.status === 429 ? 'too many requests' : 'internal server error: mock failure' }, headers);
    return true;
  }
  return false;
}

function route(req, res, path, body) {
  stats.total++;
  stats.requests[path] = (stats.requests[path] || 0) + 1;
  stats.last = { path, body, auth: req.headers.authorization || null };
  if (!seenSockets.has(req.socket)) { seenSockets.add(req.socket); stats.connections++; }
  if (misbehave(req, res)) return;
  if (req.method === 'GET') {
    if (path === '/api/tags') return send(res, 200, { models: [{ name: 'mock-embed:latest' }, { name: 'mock-chat:latest' }] });
    if (path === '/api/ps') return send(res, 200, { models: [...loaded].map(([name, keep]) => ({ name, model: name, size: 1000000, size_vram: 600000, keep_alive: keep, expires_at: '2099-01-01T00:00:00Z' })) });
    if (path === '/api/version') return send(res, 200, { version: '0.0.0-mock' });
    if (path === '/v1/models') return send(res, 200, { object: 'list', data: [{ id: 'mock-embed' }, { id: 'mock-chat' }] });
    return send(res, 404, '404 page not found');
  }
  let j;
  try { j = JSON.parse(body); } catch { return send(res, 400, { error: 'invalid JSON body' }); }
  if (modelMissing(j.model)) return missingModel(res, path, j.model);
  if (['/api/embed', '/api/embeddings', '/v1/embeddings'].includes(path)) return embed(res, path, j);
  if (['/api/generate', '/api/chat', '/v1/chat/completions'].includes(path)) return generate(res, path, j);
  if (path === '/v1/rerank' || path === '/rerank') return rerank(res, j);
  return send(res, 404, '404 page not found');
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const path = req.url.split('?')[0];
    const body = Buffer.concat(chunks).toString('utf8');
    if (path.startsWith('/__')) return control(res, path, body);
    return route(req, res, path, body);
  });
});
server.keepAliveTimeout = 30000;

const i = process.argv.indexOf('--port');
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
