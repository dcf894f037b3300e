/* kswarm web UI (served by the daemon, embedded in the binary; no framework, no build step).
 * Views: the live conversation (SSE on /api/v1/stream, resumed without gap or duplicate:
 * EventSource sends Last-Event-ID when it reconnects by itself; when it gives up (the
 * daemon answered an error, e.g. while restarting) a new one resumes with ?since=<last
 * seq>), plans awaiting approval (Approve / Reject with a reason), findings by severity,
 * cost per NodePool with a chart of the recorded cost and its forecast, and past plans with
 * their measured outcomes.
 * The bearer token is asked for when a decision needs it and kept in sessionStorage.
 * window.kswarmUI exposes the ids shown (for the browser test). */
'use strict';

const TYPES = ['observation', 'question', 'diagnosis', 'proposal', 'critique', 'veto', 'vote',
	'decision', 'plan', 'approval_request', 'approval', 'rejection', 'step_started',
	'step_done', 'verification', 'rollback', 'outcome'];
const PLAN_TYPES = new Set(['plan', 'approval_request', 'approval', 'rejection',
	'step_started', 'step_done', 'verification', 'rollback', 'outcome', 'decision']);
const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
const MAX_ROWS = 5000;      /* rows kept in the page (ids are all kept in `seen`) */
const DEPTH_MEMORY = 4096;  /* as the terminal view: depth of replies remembered */
const MAX_DEPTH = 8;
const TOKEN_KEY = 'kswarm-token';
const SVG_NS = 'http://www.w3.org/2000/svg';

const state = {
	lastSeq: 0,
	seen: [],           /* every message seq shown, in order */
	duplicates: 0,      /* frames ignored because their seq was already shown */
	opens: 0,           /* stream connections opened (reconnects = opens - 1) */
	manualReconnects: 0,/* new EventSources made after the browser gave up */
	depth: new Map(),
	es: null,
	agents: new Set(),
	clusters: new Set(),
	pendingCards: new Map(),
};
window.kswarmUI = state;

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (k === 'class') e.className = v;
		else if (k === 'text') e.textContent = v;
		else e.setAttribute(k, v);
	}
	for (const c of children)
		if (c !== null && c !== undefined)
			e.append(c instanceof Node ? c : String(c));
	return e;
}

function setConn(text) {
	$('conn').textContent = text;
}

/* ---- the token ---- */

function token() {
	return sessionStorage.getItem(TOKEN_KEY) || '';
}

function askToken() {
	const dlg = $('token-dialog');
	return new Promise((resolve) => {
		const input = $('token-input');
		input.value = token();
		const done = () => {
			dlg.removeEventListener('close', done);
			resolve(dlg.returnValue === 'save' && input.value ? input.value : null);
		};
		dlg.returnValue = '';
		dlg.addEventListener('close', done);
		dlg.showModal();
		input.focus();
	});
}

function initToken() {
	$('token-form').addEventListener('submit', () => {
		const v = $('token-input').value.trim();
		if (v) sessionStorage.setItem(TOKEN_KEY, v);
		updateTokenButton();
	});
	$('token-cancel').addEventListener('click', () => $('token-dialog').close(''));
	$('token-forget').addEventListener('click', () => {
		sessionStorage.removeItem(TOKEN_KEY);
		$('token-input').value = '';
		updateTokenButton();
		$('token-dialog').close('');
	});
	$('token-btn').addEventListener('click', () => askToken());
	updateTokenButton();
}

function updateTokenButton() {
	$('token-btn').textContent = token() ? 'Token set (change)' : 'Set token';
}

/* ---- the API ---- */

class ApiError extends Error {
	constructor(status, msg) { super(msg); this.status = status; }
}

async function api(path, opts = {}) {
	const headers = {};
	if (token()) headers.Authorization = 'Bearer ' + token();
	if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
	const r = await fetch(path, {method: opts.method || 'GET', headers,
		body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
		cache: 'no-store'});
	let j = null;
	try { j = await r.json(); } catch (e) { j = null; }
	if (!r.ok)
		throw new ApiError(r.status, (j && j.error) || r.status + ' ' + r.statusText);
	return j;
}

/* A POST that needs the token: asks for it first, and again once when it is refused. */
async function authedPost(path, body) {
	for (let attempt = 0; attempt < 2; attempt++) {
		if (!token()) {
			const t = await askToken();
			if (!t) throw new ApiError(401, 'no token given');
		}
		try {
			return await api(path, {method: 'POST', body});
		} catch (e) {
			if (e.status !== 401 || attempt) throw e;
			sessionStorage.removeItem(TOKEN_KEY);
			updateTokenButton();
		}
	}
	throw new ApiError(401, 'the daemon rejected the token');
}

/* ---- the live conversation ---- */

function depthOf(m, seq) {
	let d = 0;
	for (const id of m.re || []) {
		const p = state.depth.get(Number(String(id).replace(/^m/, '')));
		if (p !== undefined && p + 1 > d) d = p + 1;
	}
	d = Math.min(d, MAX_DEPTH);
	state.depth.set(seq, d);
	if (state.depth.size > DEPTH_MEMORY)
		state.depth.delete(state.depth.keys().next().value);
	return d;
}

function subjectText(s) {
	if (!s) return '';
	return [s.kind, s.namespace, s.name].filter(Boolean).join('/');
}

function addOption(select, set, value) {
	if (!value || set.has(value)) return;
	set.add(value);
	select.append(el('option', {value, text: value}));
}

function matches(li) {
	const agent = $('f-agent').value, cluster = $('f-cluster').value;
	const subj = $('f-subject').value.trim().toLowerCase();
	return (!agent || li.dataset.from === agent) && (!cluster || li.dataset.cluster === cluster) &&
		(!subj || li.dataset.subject.toLowerCase().includes(subj));
}

function applyFilters() {
	let shown = 0;
	for (const li of $('stream').children) {
		li.hidden = !matches(li);
		if (!li.hidden) shown++;
	}
	$('f-count').textContent = shown + ' of ' + $('stream').children.length + ' messages shown';
}

function addMessage(m, seq) {
	const list = $('stream');
	const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
	const from = m.from || '';
	const agentClass = from.startsWith('human:') ? 'a-human' : 'a-' + from;
	const subject = subjectText(m.subject);
	const li = el('li', {id: 'msg-' + seq, class: 'd' + depthOf(m, seq)},
		el('span', {class: 'ts', text: String(m.ts || '').slice(11, 23) + '  '}),
		el('span', {class: 'from ' + agentClass,
			text: from + (m.to ? ' → ' + m.to : '')}),
		el('span', {class: 'type', text: '  ' + (m.type || '') + '  '}),
		el('span', {class: 'text', text: (m.text || '').replace(/[\n\t]/g, ' ')}),
		subject ? el('span', {class: 'muted', text: '  [' + subject + ']'}) : null);
	li.dataset.seq = String(seq);
	li.dataset.from = from;
	li.dataset.cluster = m.cluster || '';
	li.dataset.subject = subject;
	li.hidden = !matches(li);
	list.append(li);
	while (list.children.length > MAX_ROWS) list.firstElementChild.remove();
	addOption($('f-agent'), state.agents, from);
	addOption($('f-cluster'), state.clusters, m.cluster);
	if (atBottom) list.scrollTop = list.scrollHeight;
}

function onFrame(e) {
	const seq = Number(e.lastEventId);
	if (!Number.isFinite(seq) || seq <= state.lastSeq) {
		state.duplicates++;
		return;
	}
	let m;
	try { m = JSON.parse(e.data); } catch (err) { return; }
	state.lastSeq = seq;
	state.seen.push(seq);
	addMessage(m, seq);
	if (PLAN_TYPES.has(m.type)) scheduleRefresh();
}

function connect() {
	if (state.es) state.es.close();
	/* The first connection replays the whole transcript (since=0); later ones resume. */
	const es = new EventSource('/api/v1/stream?since=' + state.lastSeq);
	state.es = es;
	for (const t of TYPES) es.addEventListener(t, onFrame);
	es.onopen = () => {
		state.opens++;
		setConn('Live');
	};
	es.onerror = () => {
		if (es.readyState === EventSource.CLOSED) {
			/* The browser gave up (an HTTP error): resume by hand after a pause. */
			setConn('Disconnected; retrying…');
			setTimeout(() => {
				if (state.es !== es) return;
				state.manualReconnects++;
				connect();
			}, 2000);
		} else {
			setConn('Reconnecting…');
		}
	};
}

/* ---- plans awaiting approval ---- */

function diffView(diff) {
	if (!diff) return el('p', {class: 'muted', text: 'No dry-run diff.'});
	if (diff.error) return el('p', {class: 'error', text: 'Dry run failed: ' + diff.error});
	const box = el('div', {});
	for (const st of diff.steps || []) {
		const target = typeof st.target === 'object' && st.target
			? subjectText(st.target) : String(st.target || '');
		box.append(el('h4', {text: 'Step ' + (st.id || '') + ': ' + target +
			(st.via ? ' (' + st.via + ')' : '')}));
		const pre = el('pre', {class: 'diff'});
		for (const line of String(st.diff || '').split('\n')) {
			const cls = line.startsWith('+') && !line.startsWith('+++') ? 'add'
				: line.startsWith('-') && !line.startsWith('---') ? 'del' : '';
			pre.append(el('span', cls ? {class: cls} : {}, line + '\n'));
		}
		box.append(pre);
	}
	if (!(diff.steps || []).length)
		box.append(el('pre', {class: 'diff', text: JSON.stringify(diff, null, 2)}));
	return box;
}

function money(v) {
	return typeof v === 'number' ? '$' + v.toFixed(2) : '–';
}

function planCard(p) {
	const req = (p.approval_request && p.approval_request.body) || {};
	const id = p.plan_id;
	const card = el('article', {class: 'plan', id: 'pending-' + id,
		'aria-labelledby': 'pending-h-' + id});
	card.append(el('h3', {id: 'pending-h-' + id, text: id + ': ' + (req.title || p.plan.title || '')}));
	const subj = subjectText(p.approval_request && p.approval_request.subject);
	const dl = el('dl', {});
	const row = (k, v) => dl.append(el('dt', {text: k}), el('dd', {text: v}));
	if (subj) row('Subject', subj);
	row('Risk', req.risk || '–');
	row('Predicted savings', money(req.savings_per_month) + ' per month');
	if (req.benefit) row('Benefit', req.benefit);
	if (req.why) row('Why a person decides', req.why);
	row('Rollback', req.rollback || '–');
	card.append(dl, el('h4', {text: 'Diff (server-side dry run)'}), diffView(p.diff || req.diff));
	const status = el('p', {class: 'muted', role: 'status', 'aria-live': 'polite'});
	const reasonId = 'reason-' + id;
	const reason = el('textarea', {id: reasonId, name: 'reason', 'aria-describedby': 'hint-' + id});
	const approve = el('button', {type: 'button', class: 'approve', text: 'Approve ' + id});
	const reject = el('button', {type: 'button', class: 'danger reject', text: 'Reject ' + id});
	const decide = el('div', {class: 'decide'}, approve,
		el('div', {}, el('label', {for: reasonId, text: 'Reason for rejecting (required)'}),
			reason, el('span', {id: 'hint-' + id, class: 'sr-only',
				text: 'Rejecting needs a reason'})),
		reject);
	card.append(decide, status);
	const act = async (what) => {
		let body = {by: 'web-ui'};
		if (what === 'reject') {
			const r = reason.value.trim();
			if (!r) {
				reason.setAttribute('aria-invalid', 'true');
				status.className = 'error';
				status.textContent = 'A reason is required to reject.';
				reason.focus();
				return;
			}
			reason.removeAttribute('aria-invalid');
			body.reason = r;
		}
		approve.disabled = reject.disabled = true;
		status.className = 'muted';
		status.textContent = what === 'approve' ? 'Approving…' : 'Rejecting…';
		try {
			await authedPost('/api/v1/plans/' + encodeURIComponent(id) + '/' + what, body);
			status.textContent = what === 'approve'
				? 'Approved: the reconciler executes the plan.' : 'Rejected.';
			card.classList.add('decided');
			scheduleRefresh();
		} catch (e) {
			approve.disabled = reject.disabled = false;
			status.className = 'error';
			status.textContent = (what === 'approve' ? 'Approve' : 'Reject') + ' failed: ' +
				e.message;
		}
	};
	approve.addEventListener('click', () => act('approve'));
	reject.addEventListener('click', () => act('reject'));
	return card;
}

async function refreshPending() {
	const list = await api('/api/v1/plans?status=pending');
	const ids = new Set(list.map((p) => p.plan_id));
	for (const [id, card] of state.pendingCards)
		if (!ids.has(id) && !card.classList.contains('decided')) {
			card.remove();
			state.pendingCards.delete(id);
		}
	for (const p of list.slice().reverse()) {
		if (state.pendingCards.has(p.plan_id)) continue;
		const full = await api('/api/v1/plans/' + encodeURIComponent(p.plan_id));
		const card = planCard(full);
		state.pendingCards.set(p.plan_id, card);
		$('pending').append(card);
	}
	$('plans-status').textContent = list.length ? list.length + ' plan(s) await a decision.'
		: 'No plan awaits approval.';
}

/* ---- history ---- */

/* "2026-11-21T10:00:02Z" or Unix seconds, as "2026-11-21 10:00:02". */
function timeText(t) {
	const d = typeof t === 'number' ? new Date(t * 1000) : new Date(String(t || ''));
	return isNaN(d.getTime()) ? String(t || '') : d.toISOString().replace('T', ' ').slice(0, 19);
}

/* 12 -> "12 s", 300 -> "5 min". */
function secondsText(n) {
	return n < 120 ? Math.round(n) + ' s' : Math.round(n / 60) + ' min';
}

/* A plan's measured outcome (docs/SWARM.md) in a few words: "saved $412.30/mo (predicted
 * $450.00) · finding cleared after 12 s · ran 4 s"; "—" when there is nothing measured. */
function measuredText(m) {
	if (!m || typeof m !== 'object' || !m.result) return '—';
	const parts = [];
	if (typeof m.savings_per_month === 'number') {
		const s = m.savings_per_month;
		let t = s >= 0 ? 'saved ' + money(s) + '/mo' : 'costs ' + money(-s) + '/mo more';
		if (typeof m.predicted_savings_per_month === 'number')
			t += ' (predicted ' + money(m.predicted_savings_per_month) + ')';
		if (m.settled === false) t += ', not settled after an hour';
		parts.push(t);
	} else if (m.result === 'succeeded' && typeof m.cost_before_usd_per_month === 'number' &&
		   !m.measuring) {
		parts.push('cost after unknown');
	}
	if (m.finding_cleared === true)
		parts.push('finding cleared after ' + secondsText(m.cleared_after_seconds || 0));
	else if (m.finding_cleared === false)
		parts.push(m.measuring ? 'finding still open' : 'finding still open after an hour');
	if (m.measuring) parts.push('measuring…');
	if (m.result !== 'succeeded' && m.why) parts.push(m.why);
	if (typeof m.execution_seconds === 'number')
		parts.push('ran ' + secondsText(m.execution_seconds));
	return parts.length ? parts.join(' · ') : '—';
}

async function refreshHistory() {
	const list = await api('/api/v1/plans');
	const tbody = $('plans-table').tBodies[0];
	tbody.replaceChildren(...list.map((p) => el('tr', {id: 'plan-row-' + p.plan_id},
		el('td', {text: p.plan_id}), el('td', {text: p.title || ''}),
		el('td', {text: p.risk || ''}),
		el('td', {class: 'num', text: money(p.savings_per_month)}),
		el('td', {class: 'status status-' + p.status, text: p.status}),
		el('td', {class: 'measured', text: measuredText(p.measured)}),
		el('td', {text: timeText(p.updated)}))));
	/* A decided plan's card says how it went, and goes once the plan has ended. */
	for (const p of list) {
		const card = state.pendingCards.get(p.plan_id);
		if (!card || !card.classList.contains('decided') || p.status === 'pending') continue;
		card.querySelector('[role=status]').textContent = 'Status: ' + p.status;
		if (!['approved', 'executing'].includes(p.status)) {
			setTimeout(() => card.remove(), 5000);
			state.pendingCards.delete(p.plan_id);
		}
	}
}

/* ---- health and cost ---- */

async function refreshFindings() {
	const tbody = $('findings').tBodies[0];
	let list;
	try { list = await api('/api/v1/findings'); } catch (e) {
		if (e.status !== 404) throw e;
		tbody.replaceChildren(el('tr', {}, el('td', {colspan: '2', text: 'No round yet.'})));
		return;
	}
	const n = {};
	for (const f of list) n[f.severity] = (n[f.severity] || 0) + 1;
	const order = SEVERITIES.concat(Object.keys(n).filter((s) => !SEVERITIES.includes(s)));
	tbody.replaceChildren(...order.map((s) => el('tr', {},
		el('th', {scope: 'row', text: s}), el('td', {class: 'num', text: String(n[s] || 0)}))));
}

async function refreshCost() {
	const tbody = $('cost').tBodies[0];
	let c = null;
	try { c = await api('/api/v1/cost'); } catch (e) { if (e.status !== 404) throw e; }
	if (!c) {
		tbody.replaceChildren(el('tr', {}, el('td', {colspan: '4', text: 'No cost yet.'})));
	} else {
		const rows = (c.nodepools || []).map((p) => el('tr', {},
			el('th', {scope: 'row', text: p.name}),
			el('td', {class: 'num', text: String((p.current || {}).nodes || 0)}),
			el('td', {class: 'num', text: money((p.current || {}).hourly_usd)}),
			el('td', {class: 'num', text: money((p.current || {}).monthly_usd)})));
		const s = c.summary || {};
		rows.push(el('tr', {class: 'total'}, el('th', {scope: 'row', text: 'whole cluster'}),
			el('td', {class: 'num', text: String(s.nodes || 0)}),
			el('td', {class: 'num', text: money(s.current_hourly_usd)}),
			el('td', {class: 'num', text: money(s.current_monthly_usd)})));
		tbody.replaceChildren(...rows);
	}
	const h = await api('/api/v1/cost/history');
	const measuredPlans = h.savings_measured_plans || 0;
	$('savings').textContent = 'Savings realised: ' + money(h.savings_realised_usd_per_month) +
		' per month (' + (measuredPlans ? 'measured for ' + measuredPlans +
		' plan' + (measuredPlans === 1 ? '' : 's') + ', predicted for the others' :
		'predicted; not measured yet') + '; predicted in all: ' +
		money(h.savings_predicted_usd_per_month) + ').';
	drawChart(h);
}

function svg(tag, attrs, text) {
	const e = document.createElementNS(SVG_NS, tag);
	for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
	if (text !== undefined) e.textContent = text;
	return e;
}

function fmtTime(t) {
	return new Date(t * 1000).toISOString().replace('T', ' ').slice(5, 16);
}

function drawChart(h) {
	const box = $('chart');
	const samples = h.samples || [], fc = h.forecast || [];
	if (!samples.length) {
		box.replaceChildren(el('p', {class: 'muted', text: 'No cost recorded yet.'}));
		return;
	}
	const W = 720, H = 240, L = 60, R = 16, T = 12, B = 36;
	const all = samples.concat(fc);
	const t0 = Math.min(...all.map((p) => p.t)), t1 = Math.max(...all.map((p) => p.t));
	const ymax = Math.max(...all.map((p) => Math.max(p.usd_per_hour, p.hi || 0))) * 1.1 || 1;
	const x = (t) => L + (t1 > t0 ? (t - t0) / (t1 - t0) : 0.5) * (W - L - R);
	const y = (v) => T + (1 - v / ymax) * (H - T - B);
	const pts = (arr, key) => arr.map((p) => x(p.t).toFixed(1) + ',' + y(p[key]).toFixed(1)).join(' ');
	const last = samples[samples.length - 1];
	const s = svg('svg', {viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
		'aria-labelledby': 'chart-title chart-desc'});
	s.append(svg('title', {id: 'chart-title'}, 'Cluster cost over time'));
	s.append(svg('desc', {id: 'chart-desc'}, samples.length + ' samples; latest $' +
		last.usd_per_hour.toFixed(4) + ' per hour' + (fc.length ? '; forecast $' +
		fc[fc.length - 1].usd_per_hour.toFixed(4) + ' per hour at ' +
		fmtTime(fc[fc.length - 1].t) : '; too few samples to forecast')));
	s.append(svg('line', {class: 'axis', x1: L, y1: H - B, x2: W - R, y2: H - B}));
	s.append(svg('line', {class: 'axis', x1: L, y1: T, x2: L, y2: H - B}));
	for (const v of [0, ymax / 2, ymax])
		s.append(svg('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end'}, '$' + v.toFixed(2)));
	s.append(svg('text', {x: L, y: H - 10}, fmtTime(t0)));
	s.append(svg('text', {x: W - R, y: H - 10, 'text-anchor': 'end'}, fmtTime(t1)));
	if (fc.length) {
		const band = fc.map((p) => x(p.t).toFixed(1) + ',' + y(p.hi).toFixed(1))
			.concat(fc.slice().reverse().map((p) => x(p.t).toFixed(1) + ',' + y(p.lo).toFixed(1)));
		s.append(svg('polygon', {class: 'band', points: band.join(' ')}));
		s.append(svg('polyline', {class: 'forecast', points: pts([last].concat(fc), 'usd_per_hour')}));
	}
	s.append(svg('polyline', {class: 'actual', points: pts(samples, 'usd_per_hour')}));
	if (samples.length === 1)
		s.append(svg('circle', {cx: x(last.t), cy: y(last.usd_per_hour), r: 3, class: 'actual'}));
	const legend = el('p', {class: 'muted',
		text: 'Solid: recorded. Dashed: forecast (Holt linear trend), shaded: its 80% interval.'});
	box.replaceChildren(s, legend);
}

/* ---- refresh ---- */

let refreshTimer = null;
function scheduleRefresh() {
	if (refreshTimer) return;
	refreshTimer = setTimeout(() => { refreshTimer = null; refreshAll(); }, 500);
}

async function refreshAll() {
	for (const f of [refreshPending, refreshHistory, refreshFindings, refreshCost]) {
		try { await f(); } catch (e) {
			console.warn('kswarm: ' + f.name + ': ' + e.message);
		}
	}
}

document.addEventListener('DOMContentLoaded', () => {
	initToken();
	for (const id of ['f-agent', 'f-cluster', 'f-subject'])
		$(id).addEventListener('input', applyFilters);
	$('filters').addEventListener('submit', (e) => e.preventDefault());
	connect();
	refreshAll();
	setInterval(refreshAll, 10000);
});
