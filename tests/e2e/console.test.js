#!/usr/bin/env node
// console.test.js — the web console in headless Debian Chromium, used as a
// person would: give the API key once, run SQL and see rows, see an error in
// place, browse the candidates' schema and see the PII marks, run a semantic
// search, see System health green. Prints TAP; screenshots go to $SHOTS.
//   LH_URL=http://127.0.0.1:port LH_KEY=key SHOTS=dir node tests/e2e/console.test.js
'use strict';
const { chromium } = require('playwright-core');

const URL = process.env.LH_URL, KEY = process.env.LH_KEY, SHOTS = process.env.SHOTS || '.';
let n = 0, failed = 0;
function ok(cond, name, detail) {
  n++;
  if (cond) console.log(`ok ${n} - ${name}`);
  else { failed++; console.log(`not ok ${n} - ${name}`); if (detail) console.log(`# ${String(detail).slice(0, 500)}`); }
}
async function step(name, fn) {
  try { await fn(); } catch (e) { ok(false, name, e.message); }
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true })).newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  const shot = (name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

  await step('asks for the key once and keeps it', async () => {
    await page.goto(`${URL}/#sql`);
    await page.waitForSelector('#key-dialog[open]', { timeout: 10000 });
    await shot('01-key-dialog');
    await page.fill('#key-input', 'wrong-key');
    await page.click('#key-ok');
    await page.waitForSelector('#key-dialog[open] #key-error:not([hidden])', { timeout: 10000 });
    await page.fill('#key-input', KEY);
    await page.click('#key-ok');
    await page.waitForSelector('#key-dialog', { state: 'hidden', timeout: 10000 });
    ok(true, 'asks for the key once and keeps it');
  });

  await step('SQL: run with Ctrl+Enter and see rows', async () => {
    await page.click('#tab-sql');
    await page.fill('#sql-editor', 'SELECT state, count(*) AS candidates FROM candidates GROUP BY state ORDER BY candidates DESC LIMIT 5');
    await page.press('#sql-editor', 'Control+Enter');
    await page.waitForSelector('#sql-out table.grid tbody tr', { timeout: 15000 });
    const rows = await page.$$eval('#sql-out tbody tr', (t) => t.length);
    ok(rows === 5, 'SQL: run with Ctrl+Enter and see rows', `rows=${rows}`);
    ok(/5 rows/.test(await page.textContent('#sql-status')), 'SQL: the row count is shown');
    await page.click('#sql-chart');
    ok(await page.isVisible('#sql-chart-box svg rect.bar'), 'SQL: a label + number result charts as bars');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#sql-csv')]);
    const path = await dl.path();
    const csv = require('fs').readFileSync(path, 'utf8').split('\r\n');
    ok(csv[0] === 'state,candidates' && csv.length === 7, 'SQL: CSV export has the header and every row', csv[0]);
    await shot('02-sql-rows');
  });

  await step('SQL: an error is shown in place', async () => {
    await page.fill('#sql-editor', 'SELEC nonsense FROM');
    await page.click('#sql-run');
    await page.waitForSelector('#sql-error:not([hidden])', { timeout: 10000 });
    const msg = await page.textContent('#sql-error');
    ok(/syntax error/i.test(msg), 'SQL: an error is shown in place', msg);
    ok((await page.$$('#sql-out tr')).length === 0, 'SQL: no stale rows under the error');
    await shot('03-sql-error');
  });

  await step('Explore: candidates schema shows PII marks', async () => {
    await page.click('#tab-explore');
    await page.waitForSelector('#ds-list li[data-name="candidates"]', { timeout: 10000 });
    await page.click('#ds-list li[data-name="candidates"]');
    await page.waitForSelector('#schema tr[data-column="ssn"]', { timeout: 10000 });
    const ssn = await page.textContent('#schema tr[data-column="ssn"]');
    const email = await page.textContent('#schema tr[data-column="email"]');
    const city = await page.textContent('#schema tr[data-column="city"]');
    ok(/PII: ssn/.test(ssn) && /restricted/.test(ssn), 'Explore: ssn is marked PII and restricted', ssn);
    ok(/PII: email/.test(email), 'Explore: email is marked PII', email);
    ok(!/PII/.test(city), 'Explore: city carries no PII mark', city);
    ok(/demo-generator/.test(await page.textContent('#lineage')), 'Explore: lineage names the source');
    await page.waitForSelector('#ds-sample table.grid tbody tr', { timeout: 15000 });
    await page.waitForSelector('#ds-summary table.grid tbody tr', { timeout: 20000 });
    ok(/null/i.test(await page.textContent('#ds-summary')), 'Explore: a computed profile is shown without an LLM');
    await shot('04-explore-candidates');
  });

  await step('Search: semantic search returns hits', async () => {
    await page.click('#tab-search');
    await page.waitForSelector('#search-index option[value="resumes"]', { state: 'attached', timeout: 10000 });
    await page.selectOption('#search-index', 'resumes');
    await page.fill('#search-q', 'registered nurse with ICU experience');
    await page.click('#search-form button[type=submit]');
    await page.waitForSelector('#search-out .hit', { timeout: 15000 });
    const hits = await page.$$eval('#search-out .hit', (h) => h.map((x) => x.textContent));
    ok(hits.length >= 5, 'Search: semantic search returns hits', `hits=${hits.length}`);
    ok(/nurse|ICU/i.test(hits[0]), 'Search: the best hit is about nursing', hits[0]);
    await shot('05-search');
    await page.click('#rag-btn');
    await page.waitForSelector('#rag-answer', { timeout: 15000 });
    ok(/\[\d\]/.test(await page.textContent('#rag-answer')), 'Search: RAG answers with numbered citations');
    await shot('06-rag');
  });

  await step('System: every component is healthy', async () => {
    await page.click('#tab-system');
    await page.waitForSelector('#sys-components .card', { timeout: 10000 });
    const states = await page.$$eval('#sys-components .card', (c) => c.map((x) => `${x.dataset.component}=${x.dataset.ok}`));
    ok(states.length >= 5 && states.every((s) => s.endsWith('=true')), 'System: every component is healthy', states.join(' '));
    await page.waitForSelector('#sys-metrics table.grid tbody tr', { timeout: 10000 });
    ok(/lakehouse_http_requests_total/.test(await page.textContent('#sys-metrics')), 'System: metrics are listed');
    await shot('07-system');
  });

  await step('Ask: without an LLM the hint says what to configure', async () => {
    await page.click('#tab-ask');
    await page.fill('#ask-q', 'How many candidates live in Texas?');
    await page.click('#ask-form button[type=submit]');
    await page.waitForSelector('#ask-out .error', { timeout: 10000 });
    const msg = await page.textContent('#ask-out .error');
    ok(/LAKEHOUSE_AI_URL|\[ai\]/.test(msg), 'Ask: without an LLM the hint says what to configure', msg);
    await shot('08-ask-no-llm');
  });

  ok(consoleErrors.length === 0, 'no uncaught errors in the page', consoleErrors.join(' | '));
  await browser.close();
  console.log(`1..${n}`);
  process.exit(failed ? 1 : 0);
})().catch((e) => { console.log(`not ok ${n + 1} - browser run\n# ${e.message}`); console.log(`1..${n + 1}`); process.exit(1); });
