// app.js — the lakehouse web console: five tabs over the HTTP API (API.md).
// No framework and no network beyond this server. Every value from the
// server is inserted as text (el()/text nodes), never as HTML.
'use strict';

// ---- API access and the key ----------------------------------------------------
const KEY = 'lakehouse.apiKey';
let keyWaiters = null;

async function api(method, path, body) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = {};
    const key = sessionStorage.getItem(KEY);
    if (key) headers['X-API-Key'] = key;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status === 401) { await askForKey(key ? 'That key was not accepted.' : ''); continue; }
    const type = res.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await res.json() : await res.text();
    if (!res.ok) {
      const e = (data && data.error) || { code: String(res.status), message: String(data) };
      const err = new Error(e.message); err.status = res.status; err.code = e.code; err.hint = e.hint;
      throw err;
    }
    return data;
  }
  throw new Error('no valid API key');
}

function askForKey(message) {
  if (keyWaiters) return new Promise((r) => keyWaiters.push(r));
  keyWaiters = [];
  const dlg = document.getElementById('key-dialog');
  const err = document.getElementById('key-error');
  err.hidden = !message; err.textContent = message || '';
  document.getElementById('key-input').value = '';
  dlg.showModal();
  return new Promise((resolve) => {
    document.getElementById('key-form').onsubmit = () => {
      sessionStorage.setItem(KEY, document.getElementById('key-input').value.trim());
      showWho();
      const waiters = keyWaiters; keyWaiters = null;
      resolve(); waiters.forEach((w) => w());
    };
  });
}

function showWho() {
  const has = !!sessionStorage.getItem(KEY);
  document.getElementById('who').textContent = has ? 'using an API key' : '';
  document.getElementById('signout').hidden = !has;
}

// ---- DOM helpers ------------------------------------------------------------------
function el(tag, attrs, ...kids) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') n.className = v; else if (k.startsWith('on')) n.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) n.setAttribute(k, v === true ? '' : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) n.append(k instanceof Node ? k : String(k));
  return n;
}
const $ = (id) => document.getElementById(id);
function clear(node, ...kids) { node.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined)); return node; }
function errorBox(e) {
  return el('div', { class: 'error', role: 'alert' }, e.message || String(e), e.hint ? el('span', { class: 'hint' }, e.hint) : null);
}
function showError(node, e) { node.hidden = !e; if (e) clear(node, e.message || String(e), e.hint ? el('span', { class: 'hint' }, e.hint) : null); }
const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;
function fmt(v) { return v === null || v === undefined ? '∅' : typeof v === 'object' ? JSON.stringify(v) : String(v); }

// A result grid from {"columns":[{"name","type"}],"rows":[[...]]}.
function grid(result) {
  const cols = result.columns || [];
  const head = el('tr', {}, cols.map((c) => el('th', { title: c.type }, c.name, ' ', el('small', {}, c.type))));
  const body = (result.rows || []).map((r) => el('tr', {}, r.map((v, i) =>
    el('td', { class: NUMERIC.test(cols[i] && cols[i].type) ? 'num' : '', title: fmt(v) }, fmt(v)))));
  return el('div', { class: 'grid-wrap' }, el('table', { class: 'grid' }, el('thead', {}, head), el('tbody', {}, body)));
}
function rowCount(result) {
  return `${result.row_count} row${result.row_count === 1 ? '' : 's'}${result.truncated ? ' (truncated)' : ''}` +
    (result.elapsed_ms !== undefined ? ` · ${result.elapsed_ms} ms` : '');
}

// ---- tabs --------------------------------------------------------------------------
const loaders = {};
function showTab(name) {
  for (const b of document.querySelectorAll('#tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
  for (const p of document.querySelectorAll('.panel')) p.hidden = p.id !== `panel-${name}`;
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  if (loaders[name]) loaders[name]();
}

// ---- Ask -----------------------------------------------------------------------------
$('ask-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('ask-out');
  const q = $('ask-q').value.trim();
  if (!q) return;
  clear(out, el('p', { class: 'muted' }, 'Thinking…'));
  try {
    const r = await api('POST', '/ai/sql', { question: q });
    clear(out, el('h2', {}, 'SQL'), el('pre', { class: 'sql', id: 'ask-sql' }, r.sql),
      el('p', { class: 'muted' }, `${rowCount(r)} · model ${r.model} · ${r.attempts} attempt(s)`), grid(r));
  } catch (e) { clear(out, errorBox(e)); }
});

// ---- Explore ---------------------------------------------------------------------------
let datasets = [];
loaders.explore = async () => {
  try {
    datasets = (await api('GET', '/catalog/datasets')).datasets;
    renderDatasetList();
  } catch (e) { clear($('ds-detail'), errorBox(e)); }
};
function renderDatasetList() {
  const f = $('ds-filter').value.toLowerCase();
  clear($('ds-list'), datasets.filter((d) => d.name.toLowerCase().includes(f)).map((d) =>
    el('li', { 'data-name': d.name, onclick: () => showDataset(d.name) }, el('span', {}, d.name),
      el('span', { class: 'muted' }, Number(d.row_count).toLocaleString()))));
}
$('ds-filter').addEventListener('input', renderDatasetList);

async function showDataset(name) {
  for (const li of document.querySelectorAll('#ds-list li')) li.classList.toggle('active', li.dataset.name === name);
  const box = $('ds-detail');
  try {
    const m = await api('GET', `/catalog/datasets/by-name/${encodeURIComponent(name)}`);
    const schema = el('table', { class: 'grid', id: 'schema' },
      el('thead', {}, el('tr', {}, ['column', 'type', 'sensitivity', 'PII', 'description'].map((h) => el('th', {}, h)))),
      el('tbody', {}, m.columns.map((c) => el('tr', { 'data-column': c.name },
        el('td', {}, c.name), el('td', {}, c.type),
        el('td', {}, el('span', { class: `badge ${c.sensitivity}` }, c.sensitivity)),
        el('td', {}, (c.pii || []).map((k) => el('span', { class: 'badge pii', title: 'personal data' }, `PII: ${k}`))),
        el('td', {}, c.description || '')))));
    const lin = m.lineage || {};
    clear(box,
      el('h1', {}, m.name, ' ', el('span', { class: `badge ${m.sensitivity}` }, m.sensitivity)),
      el('p', {}, m.description || el('span', { class: 'muted' }, 'No description yet.')),
      el('dl', { class: 'kv' },
        el('dt', {}, 'rows'), el('dd', {}, Number(m.row_count).toLocaleString()),
        el('dt', {}, 'owner'), el('dd', {}, m.owner || '—'),
        el('dt', {}, 'tags'), el('dd', {}, (m.tags || []).map((t) => el('span', { class: 'badge' }, t))),
        el('dt', {}, 'lineage'), el('dd', { id: 'lineage' }, `${lin.source_system || '?'} → ${lin.ingest_job || '?'} → ${m.name}`,
          lin.source ? el('div', { class: 'muted' }, lin.source) : null),
        el('dt', {}, 'freshness'), el('dd', {}, (m.freshness && m.freshness.last_ingest_at) || '—'),
        el('dt', {}, 'version'), el('dd', {}, `Delta v${m.version} · ${m.files.length} file(s) · ${(m.size_bytes / 1e6).toFixed(1)} MB`)),
      el('h2', {}, 'Schema'), el('div', { class: 'grid-wrap' }, schema),
      el('h2', {}, 'Summary'), el('div', { id: 'ds-summary' }, el('p', { class: 'muted' }, 'Profiling…')),
      el('h2', {}, 'Sample rows'), el('div', { id: 'ds-sample' }, el('p', { class: 'muted' }, 'Loading…')));
    api('POST', '/query/sql', { sql: `SELECT * FROM "${name.replace(/"/g, '""')}" LIMIT 20`, limit: 20 })
      .then((r) => clear($('ds-sample'), grid(r))).catch((e) => clear($('ds-sample'), errorBox(e)));
    api('GET', `/catalog/datasets/by-name/${encodeURIComponent(name)}/summary`)
      .then(renderSummary).catch((e) => clear($('ds-summary'), errorBox(e)));
  } catch (e) { clear(box, errorBox(e)); }
}

function renderSummary(s) {
  const prof = s.profile;
  const rows = prof.columns.map((c) => [c.name, c.type, `${(c.null_rate * 100).toFixed(1)}%`, c.distinct, fmt(c.min), fmt(c.max),
    (c.top || []).map((t) => `${fmt(t.value)} (${t.count})`).join(', ')]);
  const table = grid({ columns: ['column', 'type', 'nulls', 'distinct', 'min', 'max', 'top values'].map((n) => ({ name: n, type: '' })), rows });
  clear($('ds-summary'),
    s.summary ? el('p', { class: 'answer' }, s.summary, el('div', { class: 'muted' }, `written by ${s.model}`))
      : el('p', { class: 'muted' }, 'Computed profile (no language model configured).'),
    table);
}

// ---- SQL -----------------------------------------------------------------------------------
let lastResult = null;
async function runSql() {
  const sql = $('sql-editor').value;
  const status = $('sql-status');
  showError($('sql-error'), null);
  $('sql-chart-box').hidden = true;
  status.textContent = 'Running…';
  try {
    const r = await api('POST', '/query/sql', { sql, limit: Number($('sql-limit').value) || 1000 });
    lastResult = r;
    status.textContent = rowCount(r);
    clear($('sql-out'), grid(r));
    $('sql-csv').disabled = false;
    $('sql-chart').disabled = !chartable(r);
  } catch (e) {
    lastResult = null;
    status.textContent = '';
    showError($('sql-error'), e);
    clear($('sql-out'));
    $('sql-csv').disabled = true; $('sql-chart').disabled = true;
  }
}
$('sql-run').addEventListener('click', runSql);
$('sql-editor').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); runSql(); }
});

function csvCell(v) {
  const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
$('sql-csv').addEventListener('click', () => {
  if (!lastResult) return;
  const lines = [lastResult.columns.map((c) => csvCell(c.name)).join(',')]
    .concat(lastResult.rows.map((r) => r.map(csvCell).join(',')));
  const a = el('a', { href: URL.createObjectURL(new Blob([lines.join('\r\n') + '\r\n'], { type: 'text/csv' })), download: 'result.csv' });
  document.body.append(a); a.click(); a.remove();
});

// A result can be charted when it has one label column and at least one numeric one.
function chartable(r) {
  const num = r.columns.filter((c) => NUMERIC.test(c.type)).length;
  return r.rows.length > 0 && num >= 1 && r.columns.length - num === 1;
}
$('sql-chart').addEventListener('click', () => {
  const r = lastResult;
  if (!r || !chartable(r)) return;
  const li = r.columns.findIndex((c) => !NUMERIC.test(c.type));
  const vi = r.columns.findIndex((c) => NUMERIC.test(c.type));
  const rows = r.rows.slice(0, 40);
  const max = Math.max(...rows.map((x) => Number(x[vi]) || 0), 1);
  const W = 900, barH = 20, pad = 160, H = rows.length * (barH + 6) + 30;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'chart'); svg.setAttribute('viewBox', `0 0 ${W} ${H}`); svg.setAttribute('width', '100%');
  const add = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n); return n;
  };
  add('text', { x: pad, y: 14 }, `${r.columns[vi].name} by ${r.columns[li].name}`);
  rows.forEach((row, i) => {
    const y = 24 + i * (barH + 6), w = Math.max(1, (W - pad - 90) * (Number(row[vi]) || 0) / max);
    add('text', { x: pad - 8, y: y + 14, 'text-anchor': 'end' }, fmt(row[li]).slice(0, 24));
    add('rect', { class: 'bar', x: pad, y, width: w, height: barH, rx: 3 });
    add('text', { x: pad + w + 6, y: y + 14 }, fmt(row[vi]));
  });
  clear($('sql-chart-box'), svg);
  $('sql-chart-box').hidden = false;
});

// ---- Search ---------------------------------------------------------------------------------
loaders.search = async () => {
  try {
    const r = await api('GET', '/vectors/indexes');
    const list = r.indexes || r;
    const sel = $('search-index');
    const keep = sel.value;
    clear(sel, list.map((ix) => el('option', { value: ix.name }, `${ix.name} (${ix.vectors} vectors, ${ix.model_name})`)));
    if (keep) sel.value = keep;
    if (!list.length) showError($('search-error'), { message: 'No vector index yet.', hint: 'POST /vectors/index builds one (lakehouse demo builds "resumes").' });
  } catch (e) { showError($('search-error'), e); }
};
function hitView(h, n) {
  return el('div', { class: 'hit' },
    el('div', { class: 'meta' }, n ? el('sup', { class: 'cite' }, `[${n}] `) : null, `doc ${h.doc_id} · chunk ${h.chunk} · score ${Number(h.score).toFixed(4)}`),
    el('p', {}, h.text));
}
$('search-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError($('search-error'), null); clear($('rag-out'));
  try {
    const r = await api('POST', '/vectors/search', { index: $('search-index').value, query: $('search-q').value,
      k: Number($('search-k').value) || 10, mode: $('search-mode').value });
    clear($('search-out'), el('p', { class: 'muted', id: 'search-meta' }, `${r.results.length} hits · ${r.mode} · ${r.elapsed_us} µs`),
      r.results.map((h) => hitView(h)));
  } catch (e) { clear($('search-out')); showError($('search-error'), e); }
});
$('rag-btn').addEventListener('click', async () => {
  showError($('search-error'), null);
  clear($('rag-out'), el('p', { class: 'muted' }, 'Answering…'));
  try {
    const r = await api('POST', '/vectors/rag', { index: $('search-index').value, question: $('search-q').value,
      k: Number($('search-k').value) || 5 });
    clear($('rag-out'), el('div', { class: 'answer', id: 'rag-answer' }, r.answer, el('div', { class: 'muted' }, `model: ${r.model}`)),
      el('h2', {}, 'Citations'), r.citations.map((c) => hitView(c, c.n)));
    clear($('search-out'));
  } catch (e) { clear($('rag-out')); showError($('search-error'), e); }
});

// ---- System -----------------------------------------------------------------------------------
function componentCard(name, c) {
  const rest = Object.entries(c).filter(([k]) => k !== 'ok').map(([k, v]) => `${k}: ${fmt(v)}`).join('\n');
  return el('div', { class: 'card', 'data-component': name, 'data-ok': String(!!c.ok) },
    el('h3', {}, el('span', { class: `dot ${c.ok ? 'ok' : 'bad'}` }), name), el('pre', {}, rest));
}
function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+([-\d.eE+]+|NaN)$/);
    if (!m || m[1].endsWith('_bucket')) continue;
    out[m[1]] = (out[m[1]] || 0) + Number(m[3]);
  }
  return out;
}
loaders.system = async () => {
  try {
    const st = await api('GET', '/system/status');
    clear($('sys-components'), Object.entries(st.components).map(([n, c]) => componentCard(n, c)));
    $('sys-time').textContent = `up ${st.uptime_s} s · ${new Date().toLocaleTimeString()}`;
  } catch (e) { clear($('sys-components'), errorBox(e)); }
  try {
    const jobs = (await api('GET', '/jobs')).jobs || [];
    clear($('sys-jobs'), jobs.length ? el('table', { class: 'grid' },
      el('thead', {}, el('tr', {}, ['id', 'kind', 'state', 'progress', 'error'].map((h) => el('th', {}, h)))),
      el('tbody', {}, jobs.slice(0, 50).map((j) => {
        const p = j.progress || {}, frac = p.total > 0 ? Math.min(1, p.done / p.total) : (j.state === 'done' ? 1 : 0);
        return el('tr', {}, el('td', {}, j.id), el('td', {}, j.kind), el('td', {}, j.state),
          el('td', {}, el('div', { class: 'progress', title: `${p.done || 0}/${p.total ?? '?'}` }, el('div', { style: `width:${(frac * 100).toFixed(0)}%` }))),
          el('td', {}, j.error || ''));
      }))) : el('p', { class: 'muted' }, 'No jobs yet.'));
  } catch (e) { clear($('sys-jobs'), errorBox(e)); }
  try {
    const m = parseMetrics(await api('GET', '/metrics'));
    const keys = Object.keys(m).sort();
    clear($('sys-metrics'), grid({ columns: [{ name: 'metric', type: 'VARCHAR' }, { name: 'value', type: 'DOUBLE' }],
      rows: keys.map((k) => [k, Math.round(m[k] * 1000) / 1000]) }));
  } catch (e) { clear($('sys-metrics'), errorBox(e)); }
};
$('sys-refresh').addEventListener('click', () => loaders.system());
setInterval(() => { if (!$('panel-system').hidden) loaders.system(); }, 5000);

// ---- start --------------------------------------------------------------------------------------
for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
$('signout').addEventListener('click', () => { sessionStorage.removeItem(KEY); showWho(); });
showWho();
api('GET', '/system/status').catch(() => {}); // asks for a key at once when the server needs one
showTab((location.hash || '#ask').slice(1) in { ask: 1, explore: 1, sql: 1, search: 1, system: 1 } ? location.hash.slice(1) || 'ask' : 'ask');
