// ui.test.mjs — the web UI in Debian's headless chromium (playwright-core, launched with
// executablePath /usr/bin/chromium), against a running `kswarm run` (tests/integration/
// test_ui.sh sets it up). Checks: the page loads under its CSP with no console error; the
// stream shows messages as they arrive (published while the page is open); Reject without a
// reason is refused on the page; Approve, after the token is entered in the page's dialog,
// executes the plan (succeeded in the API, and on the page); a daemon restart (the server
// closes the stream) loses nothing: the page's message ids equal the transcript's, no gap,
// no duplicate, and the browser resumed by itself (EventSource's Last-Event-ID).
// Prints "PASS what" / "FAIL what" lines (+ "# detail") that test_ui.sh turns into TAP.
// Env: KSWARM_SERVER, KSWARM_TOKEN, KSWARM_PW_DIR (where install.sh put node_modules),
// KSWARM_UI_NAMESPACE (the scenario's namespace), KSWARM_RESTART (a command that restarts
// the daemon on the same address), KSWARM_SHOTS (screenshot prefix), CHROMIUM.
import { createRequire } from 'node:module';
import { execSync } from 'node:child_process';

const env = (k, d) => process.env[k] ?? d;
const server = env('KSWARM_SERVER');
const token = env('KSWARM_TOKEN');
const ns = env('KSWARM_UI_NAMESPACE');
const shots = env('KSWARM_SHOTS', '/tmp/kswarm-ui');
const require = createRequire(env('KSWARM_PW_DIR') + '/package.json');
const { chromium } = require('playwright-core');

let failures = 0;
function result(ok, what, detail) {
  console.log((ok ? 'PASS ' : 'FAIL ') + what);
  if (!ok) {
    failures++;
    for (const l of String(detail ?? '').split('\n').slice(0, 20)) console.log('# ' + l);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(secs, fn) {
  const end = Date.now() + secs * 1000;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(500);
  }
  throw new Error('timed out after ' + secs + ' s' + (last instanceof Error ? ': ' + last.message : ''));
}
async function getJSON(path) {
  const r = await fetch(server + path);
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}
async function transcriptSeqs() {
  const seqs = [];
  for (let since = 0; ;) {
    const p = await getJSON('/api/v1/transcript?since=' + since + '&limit=1000');
    for (const m of p.messages) seqs.push(Number(m.id.slice(1)));
    if (!p.more) return seqs;
    since = p.next_since;
  }
}
async function step(what, fn) {
  try { await fn(); result(true, what); } catch (e) { result(false, what, e.stack || e); }
}

const browser = await chromium.launch({ executablePath: env('CHROMIUM', '/usr/bin/chromium'),
  headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const ui = (expr) => page.evaluate(expr);

try {
  let seqAtLoad = 0, planId = '';
  await step('the page loads, connects to the stream and replays the transcript', async () => {
    await page.goto(server + '/', { waitUntil: 'load' });
    await until(30, async () => (await page.textContent('#conn')) === 'Live');
    const recorded = await transcriptSeqs();
    await until(30, async () => (await ui('window.kswarmUI.lastSeq')) >= recorded[recorded.length - 1]);
    seqAtLoad = await ui('window.kswarmUI.lastSeq');
    const rows = await page.locator('#stream li').count();
    if (rows < recorded.length) throw new Error(`${rows} rows for ${recorded.length} messages`);
  });
  await page.screenshot({ path: shots + '-loaded.png', fullPage: true });

  await step('a plan awaiting approval is shown with its diff, risk, savings and rollback', async () => {
    planId = await until(240, async () => {
      const pending = await getJSON('/api/v1/plans?status=pending');
      const p = pending.find((x) => x.subject && x.subject.namespace === ns);
      return p && p.plan_id;
    });
    const card = page.locator('#pending-' + planId);
    await card.waitFor({ timeout: 30000 });
    const text = await card.textContent();
    for (const want of ['Risk', 'Predicted savings', 'Rollback', 'Diff'])
      if (!text.includes(want)) throw new Error(`card lacks "${want}": ${text}`);
    if (!(await card.locator('pre.diff').count())) throw new Error('no diff shown');
  });

  await step('Reject without a reason is refused on the page (the plan stays pending)', async () => {
    const card = page.locator('#pending-' + planId);
    await card.locator('button.reject').click();
    await until(10, async () => /reason is required/.test(await card.locator('[role=status]').textContent()));
    if ((await card.locator('textarea').getAttribute('aria-invalid')) !== 'true')
      throw new Error('the reason field is not marked invalid');
    const p = await getJSON('/api/v1/plans/' + planId);
    if (p.status !== 'pending') throw new Error('status ' + p.status);
  });

  await step('Approve asks for the token, then approves the plan', async () => {
    const card = page.locator('#pending-' + planId);
    await card.locator('button.approve').click();
    await page.locator('#token-dialog').waitFor({ state: 'visible', timeout: 10000 });
    await page.fill('#token-input', token);
    await page.click('#token-dialog button[value=save]');
    // The card says "Approved" until the next refresh of the pending list drops it (under
    // ASan the plan may already be executing by then): either proves the approval went out.
    await until(60, async () => {
      if (await card.count() &&
          /Approved/.test(await card.locator('[role=status]').textContent({ timeout: 1000 })))
        return true;
      const plan = await getJSON('/api/v1/plans/' + planId);
      return plan.status !== 'pending';
    });
    const stored = await ui("sessionStorage.getItem('kswarm-token')");
    if (stored !== token) throw new Error('the token is not in sessionStorage');
  });
  await page.screenshot({ path: shots + '-approved.png', fullPage: true });

  await step('the stream shows the messages published while the page is open (the approval among them)', async () => {
    const seq = await until(30, async () => ui(`(() => {
      const li = [...document.querySelectorAll('#stream li')].find((l) =>
        Number(l.dataset.seq) > ${seqAtLoad} && l.textContent.includes('${planId}') &&
        / approval /.test(l.querySelector('.type').textContent));
      return li && Number(li.dataset.seq);
    })()`));
    const recorded = await getJSON('/api/v1/transcript?since=' + (seq - 1) + '&limit=1');
    if (recorded.messages[0].type !== 'approval') throw new Error('m' + seq + ' is not the approval');
  });

  await step('the approved plan is executed: succeeded in the API', async () => {
    await until(300, async () => (await getJSON('/api/v1/plans/' + planId)).status === 'succeeded');
  });
  await step('... and on the page (history)', async () => {
    await until(30, async () => (await page.textContent('#plan-row-' + planId + ' .status').catch(() => '')) === 'succeeded');
  });
  await step('... with its measured outcome (history: "ran N s", and the API\'s measured object)', async () => {
    const cell = '#plan-row-' + planId + ' .measured';
    await until(30, async () => /ran \d+ (s|min)/.test(await page.textContent(cell).catch(() => '')));
    const m = (await getJSON('/api/v1/plans/' + planId)).measured;
    if (!m || m.result !== 'succeeded' || typeof m.execution_seconds !== 'number')
      throw new Error('measured: ' + JSON.stringify(m));
    console.log('# measured outcome shown: ' + await page.textContent(cell));
  });
  await page.screenshot({ path: shots + '-succeeded.png', fullPage: true });

  await step('the filters hide the other agents\' messages', async () => {
    await page.selectOption('#f-agent', 'orchestrator');
    const other = await ui(`[...document.querySelectorAll('#stream li')].filter((l) => !l.hidden && l.dataset.from !== 'orchestrator').length`);
    const shown = await ui(`[...document.querySelectorAll('#stream li')].filter((l) => !l.hidden).length`);
    await page.selectOption('#f-agent', '');
    if (other !== 0 || shown === 0) throw new Error(`shown ${shown}, from others ${other}`);
  });

  await step('a daemon restart (the server closes the stream) misses nothing: no gap, no duplicate', async () => {
    const opensBefore = await ui('window.kswarmUI.opens');
    const seqBefore = await ui('window.kswarmUI.lastSeq');
    // Hold the browser's reconnects off (refused, as while the daemon is down) until the new
    // daemon has published past what the page has: those messages must come by the replay.
    const isStream = (u) => u.pathname === '/api/v1/stream';
    await page.route(isStream, (route) => route.abort('connectionrefused'));
    execSync(env('KSWARM_RESTART'), { stdio: 'inherit' });
    await until(90, async () => { const r = await transcriptSeqs(); return r[r.length - 1] > seqBefore; });
    await page.unroute(isStream);
    await until(90, async () => (await ui('window.kswarmUI.opens')) > opensBefore &&
      (await page.textContent('#conn')) === 'Live');
    // Let the restarted daemon publish a round or two, then compare at a settled point.
    await sleep(5000);
    const recorded = await transcriptSeqs();
    const last = recorded[recorded.length - 1];
    await until(30, async () => (await ui('window.kswarmUI.lastSeq')) >= last);
    const seen = (await ui('window.kswarmUI.seen')).filter((s) => s <= last);
    const dups = await ui('window.kswarmUI.duplicates');
    const manual = await ui('window.kswarmUI.manualReconnects');
    const same = seen.length === recorded.length && seen.every((s, i) => s === recorded[i]);
    if (!same || dups !== 0) {
      const missing = recorded.filter((s) => !seen.includes(s)).slice(0, 10);
      throw new Error(`page ${seen.length} ids, transcript ${recorded.length}; duplicates ${dups}; missing ${missing}`);
    }
    const metrics = await (await fetch(server + '/metrics')).text();
    const replayed = Number((/^kswarm_stream_replayed_messages (\S+)/m.exec(metrics) || [])[1] || 0);
    console.log(`# ${recorded.length} messages (${last - seqBefore} published while the page was cut off), ` +
      `${opensBefore} -> ${await ui('window.kswarmUI.opens')} connections, replayed by the server ${replayed}, ` +
      `manual reconnects ${manual}`);
    if (replayed < 1) throw new Error('the server replayed nothing: the gap was not exercised');
    if (manual !== 0) throw new Error('the browser gave up and the page resumed by hand (?since=), not with Last-Event-ID');
  });
  await page.screenshot({ path: shots + '-reconnected.png', fullPage: true });

  await step('the health and cost views are filled (findings by severity, cost per NodePool, the chart)', async () => {
    await until(30, async () => (await page.locator('#findings tbody tr').count()) >= 5);
    await until(30, async () => (await page.locator('#cost tbody tr').count()) >= 1);
    await until(30, async () => (await page.locator('#chart svg, #chart p').count()) >= 1);
  });

  await step('no error in the console (CSP violations included)', async () => {
    const bad = consoleErrors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(e));
    if (bad.length) throw new Error(bad.join('\n'));
  });
} finally {
  await page.screenshot({ path: shots + '-final.png', fullPage: true }).catch(() => {});
  await browser.close();
}
process.exit(failures ? 1 : 0);
