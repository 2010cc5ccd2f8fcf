// nagare's web UI: plain JavaScript over the REST API (/api/v1), no build step. Four views by
// the URL's fragment — workflows, a workflow's date × task grid (live, over server-sent
// events), its graph, a run's detail — and every action asks for confirmation, saying what it
// will do, before it calls the API.
'use strict';

const $ = (selector, root = document) => root.querySelector(selector);
const main = $('#main');
const STATES = ['queued', 'pending', 'running', 'waiting', 'suspended', 'retried', 'completed',
  'faulted', 'skipped', 'cancelled', 'marked-failed', 'marked-succeeded'];
let refresh = null; // the live view's timer
let streaming = null; // the live view's open stream (an AbortController)
let generation = 0; // bumps on every navigation, so a late answer of the last view is dropped

class Stop extends Error {}

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));
const enc = encodeURIComponent;
const json = (v) => esc(JSON.stringify(v, null, 2));

function token() { return sessionStorage.getItem('nagare.token'); }

function authorization() {
  return token() ? { Authorization: `Bearer ${token()}` } : {};
}

async function api(method, path, body, type) {
  const headers = authorization();
  let payload;
  if (typeof body === 'string') {
    headers['Content-Type'] = type || 'application/yaml';
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  if (response.status === 401) {
    askToken(token() ? 'That token was refused.' : 'This server needs a token.');
    throw new Stop();
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const error = new Error((data && (data.detail || data.title)) || response.statusText);
    error.problem = data;
    throw error;
  }
  return data;
}

function askToken(why) {
  stopRefresh();
  crumbs([]);
  main.innerHTML = `<form id="token" class="card">
    <h2>Sign in</h2><p>${esc(why)}</p>
    <label>API token <input type="password" name="token" autocomplete="current-password" required></label>
    <button>Continue</button></form>`;
  $('#token').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem('nagare.token', e.target.token.value);
    route();
  });
}

function toast(text, bad) {
  const t = $('#toast');
  t.textContent = text;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, 4000);
}

function crumbs(items) {
  $('#crumbs').innerHTML = items.map(([href, text]) => `<a href="${href}">${esc(text)}</a>`).join(' / ');
  $('#logout').hidden = !token();
}

/// Asks, then does; the view redraws after.
async function act(question, work, redraw) {
  if (!window.confirm(question)) return;
  try {
    const answer = await work();
    toast(answer || 'Done.');
    await redraw();
  } catch (e) {
    if (!(e instanceof Stop)) toast(e.message, true);
  }
}

function stopRefresh() {
  clearTimeout(refresh);
  refresh = null;
  if (streaming) streaming.abort();
  streaming = null;
}

/// Follows a server-sent event stream, calling `onGrid` with each `grid` event's data, and
/// reconnects after a second when it drops. (EventSource cannot send the token, so fetch
/// reads the stream.)
async function follow(path, onGrid) {
  const mine = generation;
  const controller = new AbortController();
  streaming = controller;
  while (mine === generation && !controller.signal.aborted) {
    try {
      const response = await fetch(`/api/v1${path}`, { headers: authorization(), signal: controller.signal });
      if (response.status === 401) {
        askToken(token() ? 'That token was refused.' : 'This server needs a token.');
        return;
      }
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        throw new Error((problem && problem.detail) || response.statusText);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (event === 'grid') onGrid(JSON.parse(data.join('\n')));
          else if (event === 'problem') throw new Error(data.join('\n'));
        }
      }
    } catch (e) {
      if (controller.signal.aborted) return;
      toast(e.message, true);
    }
    await new Promise((resolve) => { setTimeout(resolve, 1000); });
  }
}

/// Draws now and then every second while the view is shown.
async function live(draw) {
  const mine = generation;
  const tick = async () => {
    if (mine !== generation) return;
    try { await draw(); } catch (e) { if (e instanceof Stop) return; toast(e.message, true); }
    if (mine === generation) refresh = setTimeout(tick, 1000);
  };
  await tick();
}

function duration(start, end) {
  if (!start) return '';
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600000) return `${Math.floor(ms / 60000)} min ${Math.round((ms % 60000) / 1000)} s`;
  return `${Math.floor(ms / 3600000)} h ${Math.round((ms % 3600000) / 60000)} min`;
}

// ----- workflows -----

async function workflows() {
  crumbs([]);
  const list = await api('GET', '/workflows');
  const byName = new Map();
  for (const w of list) {
    const key = `${w.namespace}/${w.name}`;
    if (!byName.has(key)) byName.set(key, { namespace: w.namespace, name: w.name, versions: [] });
    byName.get(key).versions.push(w.version);
  }
  const all = [...byName.values()].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const grids = await Promise.all(all.map((w) => api('GET', `/workflows/${enc(w.namespace)}/${enc(w.name)}/grid?limit=5`).catch(() => null)));
  const rows = all.map((w, i) => {
    const g = grids[i];
    const last = g ? g.runs.slice().reverse().map((r) => `<a class="dot s-${esc(runState(r))}" title="${esc(r.logicalDate)}: ${esc(runState(r))}" href="#/run/${enc(w.namespace)}/${enc(w.name)}/${enc(r.logicalDate)}"></a>`).join('') : '';
    const paused = g && g.paused;
    return `<tr data-workflow="${esc(w.namespace)}/${esc(w.name)}">
      <td><a href="#/grid/${enc(w.namespace)}/${enc(w.name)}">${esc(w.namespace)}/${esc(w.name)}</a></td>
      <td>${w.versions.map(esc).join(', ')}</td>
      <td>${esc(g ? g.schedule : '')}</td>
      <td>${esc(g && g.nextRun ? `${g.nextRun.logicalDate} (due ${g.nextRun.due})` : '')}</td>
      <td class="dots">${last}</td>
      <td><button class="pause" data-paused="${paused}">${paused ? 'Unpause' : 'Pause'}</button></td></tr>`;
  }).join('');
  main.innerHTML = `<h1>Workflows</h1>
    <table class="list"><thead><tr><th>workflow</th><th>versions</th><th>schedule</th><th>next run</th><th>last runs</th><th></th></tr></thead>
    <tbody>${rows || '<tr><td colspan="6">No workflows yet: upload one below.</td></tr>'}</tbody></table>
    <form id="upload" class="card"><h2>Upload a workflow</h2>
      <p>YAML or JSON, as <code>nagare validate</code> takes it. A version, once uploaded, cannot change.</p>
      <input type="file" name="file" accept=".yaml,.yml,.json">
      <textarea name="source" rows="14" spellcheck="false" placeholder="document: {dsl: '1.0.3', namespace: …, name: …, version: …}"></textarea>
      <button>Upload</button><div id="diagnostics"></div></form>`;
  for (const button of main.querySelectorAll('button.pause')) {
    const [namespace, name] = button.closest('tr').dataset.workflow.split('/');
    const pause = button.dataset.paused !== 'true';
    button.addEventListener('click', () => act(
      pause ? `Pause ${namespace}/${name}? No new runs are scheduled until it is unpaused; running ones go on.`
        : `Unpause ${namespace}/${name}? Runs that are due (and catchup, if on) are scheduled.`,
      async () => { await api('POST', `/workflows/${enc(namespace)}/${enc(name)}/${pause ? 'pause' : 'unpause'}`); return pause ? 'Paused.' : 'Unpaused.'; },
      workflows));
  }
  const form = $('#upload');
  form.file.addEventListener('change', async () => {
    if (form.file.files[0]) form.source.value = await form.file.files[0].text();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const source = form.source.value;
    const type = source.trim().startsWith('{') ? 'application/json' : 'application/yaml';
    try {
      const w = await api('POST', '/workflows', source, type);
      toast(`Uploaded ${w.namespace}/${w.name} version ${w.version}.`);
      await workflows();
    } catch (error) {
      if (error instanceof Stop) return;
      showDiagnostics(source, error);
    }
  });
}

/// The upload's problems, each under the line it is about.
function showDiagnostics(source, error) {
  const lines = source.split('\n');
  const found = (error.problem && error.problem.diagnostics) || [];
  const items = found.map((d) => {
    const m = /^[^:]*:(\d+):(\d+): (.*)$/.exec(d);
    if (!m) return `<li>${esc(d)}</li>`;
    const [line, column] = [Number(m[1]), Number(m[2])];
    return `<li><span class="where">line ${line}, column ${column}</span>: ${esc(m[3])}
      <pre class="source"><span class="lineno">${line}</span>${esc(lines[line - 1] || '')}\n<span class="lineno"></span>${' '.repeat(Math.max(column - 1, 0))}^</pre></li>`;
  }).join('');
  $('#diagnostics').innerHTML = `<p class="bad">${esc(error.message)}</p><ul>${items}</ul>`;
}

// ----- grid -----

function runState(run) {
  if (run.marked) return `marked-${run.marked}`;
  return run.status;
}

function cellState(run, cell) {
  if (cell && cell.marked) return `marked-${cell.marked}`;
  // A task that has not run: skipped in a finished run, queued with its run, else blank.
  if (!cell || !cell.state) return { completed: 'skipped', queued: 'queued' }[run.status] || 'none';
  if (cell.state === 'running' && (run.status === 'waiting' || run.status === 'suspended')) return run.status;
  return cell.state;
}

function gridHtml(g, ns, name) {
  const head = g.runs.map((r) => `<th class="date"><a href="#/run/${enc(ns)}/${enc(name)}/${enc(r.logicalDate)}">${esc(r.logicalDate)}</a></th>`).join('');
  const runRow = g.runs.map((r) => `<td class="cell s-${esc(runState(r))}" title="${esc(r.logicalDate)}: ${esc(runState(r))} ${esc(duration(r.startedAt, r.endedAt))}" data-date="${esc(r.logicalDate)}"></td>`).join('');
  const body = g.tasks.map((t) => {
    const cells = g.runs.map((r) => {
      const cell = r.cells[t.reference];
      const state = cellState(r, cell);
      const took = cell ? duration(cell.startedAt, cell.endedAt) : '';
      const tries = cell && cell.attempts > 1 ? `, ${cell.attempts} attempts` : '';
      return `<td class="cell s-${state}" data-date="${esc(r.logicalDate)}" data-task="${esc(t.name)}" data-state="${state}" title="${esc(t.name)} on ${esc(r.logicalDate)}: ${state}${took ? ` in ${took}` : ''}${tries}"></td>`;
    }).join('');
    return `<tr><th class="task">${esc(t.name)}</th>${cells}</tr>`;
  }).join('');
  return `<table class="grid"><thead><tr><th></th>${head}</tr><tr><th class="task">run</th>${runRow}</tr></thead><tbody>${body}</tbody></table>`;
}

async function grid(ns, name) {
  crumbs([[`#/grid/${enc(ns)}/${enc(name)}`, `${ns}/${name}`]]);
  const base = `/workflows/${enc(ns)}/${enc(name)}`;
  main.innerHTML = `<h1>${esc(ns)}/${esc(name)}</h1>
    <section class="toolbar">
      <a href="#/graph/${enc(ns)}/${enc(name)}">graph</a>
      <label>runs <select id="limit"><option>25</option><option>100</option><option>1000</option></select></label>
      <button id="pause"></button>
      <form id="trigger"><label>run for <input type="date" name="date" required></label><button>Trigger</button></form>
      <form id="backfill"><label>backfill from <input type="date" name="from" required></label>
        <label>to <input type="date" name="to" required></label>
        <label><input type="checkbox" name="rerun"> rerun existing</label><button>Backfill</button></form>
    </section>
    <div id="grid"></div>
    <p class="legend">${STATES.map((s) => `<span class="dot s-${s}"></span>${s}`).join(' ')}</p>`;
  let paused = false;
  const opened = performance.now();
  let updates = 0;
  const draw = (g) => {
    const started = performance.now();
    $('#grid').innerHTML = gridHtml(g, ns, name);
    paused = g.paused;
    $('#pause').textContent = paused ? 'Unpause' : 'Pause';
    $('#pause').dataset.paused = paused;
    updates += 1;
    // Read by the end-to-end tests to report the render time.
    window.nagareGrid = {
      renderMs: performance.now() - started, sinceOpenMs: performance.now() - opened,
      runs: g.runs.length, tasks: g.tasks.length, updates,
    };
  };
  const connect = () => follow(`${base}/grid/stream?limit=${$('#limit').value}`, draw);
  const nothing = async () => {};
  $('#limit').addEventListener('change', () => { if (streaming) streaming.abort(); connect(); });
  $('#grid').addEventListener('click', (e) => {
    const cell = e.target.closest('td.cell');
    if (cell) location.hash = `#/run/${enc(ns)}/${enc(name)}/${enc(cell.dataset.date)}`;
  });
  $('#pause').addEventListener('click', () => act(
    paused ? `Unpause ${ns}/${name}? Runs that are due are scheduled.` : `Pause ${ns}/${name}? No new runs are scheduled until it is unpaused.`,
    async () => { await api('POST', `${base}/${paused ? 'unpause' : 'pause'}`); return paused ? 'Unpaused.' : 'Paused.'; },
    nothing));
  $('#trigger').addEventListener('submit', (e) => {
    e.preventDefault();
    const date = e.target.date.value;
    act(`Start a run of ${ns}/${name} for the logical date ${date}?`,
      async () => { await api('POST', `${base}/runs`, { logicalDate: date }); return `Run for ${date} queued.`; }, nothing);
  });
  $('#backfill').addEventListener('submit', (e) => {
    e.preventDefault();
    const { from, to, rerun } = e.target;
    act(`Backfill ${ns}/${name} for every scheduled date from ${from.value} to ${to.value}${rerun.checked ? ', running existing dates again' : ''}?`,
      async () => {
        const done = await api('POST', `${base}/backfill`, { from: from.value, to: to.value, rerun: rerun.checked });
        return `Backfill queued: ${JSON.stringify(done)}`;
      }, nothing);
  });
  connect();
}

// ----- graph -----

/// The last record of each task reference in a run (a task in a loop ran several times).
function lastRecords(tasks) {
  const by = new Map();
  for (const t of tasks || []) by.set(t.reference, { ...t, times: ((by.get(t.reference) || {}).times || 0) + 1 });
  return by;
}

function thenText(then) {
  if (!then) return '';
  if (typeof then === 'string') return then;
  return then.task;
}

function graphNode(n, records) {
  const r = records.get(n.reference);
  const state = r ? r.status : 'none';
  const jump = n.then && typeof n.then === 'object' ? ` data-jump="${esc(n.then.reference || '')}"` : '';
  const cases = n.cases.length ? `<ul class="cases">${n.cases.map((c) => `<li${c.then && typeof c.then === 'object' ? ` data-jump="${esc(c.then.reference || '')}"` : ''}>
      <b>${esc(c.name)}</b> ${c.when ? `<code>${esc(c.when)}</code>` : '(default)'} → ${esc(thenText(c.then) || 'continue')}</li>`).join('')}</ul>` : '';
  const lists = n.lists.map((l) => `<div class="sub"><div class="sub-label">${esc(l.label)}</div>${graphFlow(l.tasks, l.parallel, records)}</div>`).join('');
  const times = r && r.times > 1 ? ` ×${r.times}` : '';
  const then = n.then && n.then !== 'continue' ? `<div class="then"${jump}>then → ${esc(thenText(n.then))}${n.then.reference === null ? ' (no such task)' : ''}</div>` : '';
  return `<div class="node s-${esc(state)}" data-ref="${esc(n.reference)}" data-state="${esc(state)}" title="${esc(n.reference)}: ${esc(state)}${r ? ` ${esc(duration(r.startedAt, r.endedAt))}` : ''}">
    <div class="node-head"><b>${esc(n.name)}</b><span class="kind">${esc(n.kind)}${times}</span></div>
    ${n.detail ? `<div class="detail">${esc(n.detail)}</div>` : ''}${cases}${lists}${then}</div>`;
}

function graphFlow(tasks, parallel, records) {
  if (parallel) return `<div class="flow parallel">${tasks.map((t) => graphNode(t, records)).join('')}</div>`;
  const parts = tasks.map((t, i) => {
    // No arrow down after a task that jumps, ends or exits: its `then` says where it goes.
    const falls = !t.then || t.then === 'continue';
    return graphNode(t, records) + (i < tasks.length - 1 ? `<div class="arrow${falls ? '' : ' none'}">${falls ? '↓' : '⋮'}</div>` : '');
  });
  return `<div class="flow">${parts.join('')}</div>`;
}

/// Jumps (a `then` naming a task, a switch case) as curves on the right of the nodes.
function drawJumps(box) {
  const svg = $('svg.jumps', box);
  const origin = box.getBoundingClientRect();
  const paths = [...box.querySelectorAll('[data-jump]')].map((from, i) => {
    const to = box.querySelector(`[data-ref="${CSS.escape(from.dataset.jump)}"]`);
    if (!to) return '';
    const a = from.getBoundingClientRect();
    const b = to.getBoundingClientRect();
    const x1 = a.right - origin.left;
    const y1 = a.top + a.height / 2 - origin.top;
    const x2 = b.right - origin.left;
    const y2 = b.top + Math.min(b.height / 2, 14) - origin.top;
    const bend = Math.max(x1, x2) + 30 + (i % 4) * 12;
    return `<path d="M${x1},${y1} C${bend},${y1} ${bend},${y2} ${x2 + 4},${y2}" marker-end="url(#head)"/>`;
  }).join('');
  svg.setAttribute('width', box.scrollWidth + 80);
  svg.setAttribute('height', box.scrollHeight);
  svg.innerHTML = `<defs><marker id="head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>${paths}`;
}

async function graph(ns, name, date) {
  crumbs([[`#/grid/${enc(ns)}/${enc(name)}`, `${ns}/${name}`], [location.hash, 'graph']]);
  const [shape, g] = await Promise.all([
    api('GET', `/workflows/${enc(ns)}/${enc(name)}/graph`),
    api('GET', `/workflows/${enc(ns)}/${enc(name)}/grid?limit=100`),
  ]);
  const dates = g.runs.map((r) => r.logicalDate).reverse();
  const chosen = date || dates[0] || '';
  main.innerHTML = `<h1>${esc(ns)}/${esc(name)} <small>version ${esc(shape.version)}</small></h1>
    <section class="toolbar"><label>states of the run for <select id="run-date">
      <option value="">(no run)</option>${dates.map((d) => `<option${d === chosen ? ' selected' : ''}>${esc(d)}</option>`).join('')}</select></label>
      ${chosen ? `<a href="#/run/${enc(ns)}/${enc(name)}/${enc(chosen)}">run detail</a>` : ''}</section>
    <div id="graph" class="graph"><svg class="jumps"></svg><div id="graph-body"></div></div>
    <p class="legend">${STATES.map((s) => `<span class="dot s-${s}"></span>${s}`).join(' ')}</p>`;
  $('#run-date').addEventListener('change', (e) => {
    location.hash = `#/graph/${enc(ns)}/${enc(name)}${e.target.value ? `/${enc(e.target.value)}` : ''}`;
  });
  let last = '';
  await live(async () => {
    const r = chosen ? await api('GET', `/workflows/${enc(ns)}/${enc(name)}/runs/${enc(chosen)}`) : { tasks: [] };
    const text = JSON.stringify(r.tasks);
    if (text === last) return;
    last = text;
    $('#graph-body').innerHTML = `<div class="start">start</div><div class="arrow">↓</div>${graphFlow(shape.tasks, false, lastRecords(r.tasks))}<div class="arrow">↓</div><div class="start">end</div>`;
    drawJumps($('#graph'));
  });
}

// ----- run detail -----

function gantt(tasks) {
  const times = tasks.filter((t) => t.startedAt);
  if (!times.length) return '<p>No task has started.</p>';
  const t0 = Math.min(...times.map((t) => Date.parse(t.startedAt)));
  const t1 = Math.max(...times.map((t) => Date.parse(t.endedAt || new Date().toISOString())));
  const span = Math.max(t1 - t0, 1);
  return `<div class="gantt">${times.map((t) => {
    const left = ((Date.parse(t.startedAt) - t0) / span) * 100;
    const width = Math.max(((Date.parse(t.endedAt || new Date().toISOString()) - Date.parse(t.startedAt)) / span) * 100, 0.5);
    const depth = t.reference.split('/').length;
    return `<div class="bar-row"><span class="bar-name" style="padding-left:${depth * 3}px">${esc(t.name)}</span>
      <span class="bar-track"><span class="bar s-${esc(t.status)}" style="left:${left}%;width:${width}%" title="${esc(t.name)}: ${esc(t.status)} ${esc(duration(t.startedAt, t.endedAt))}"></span></span></div>`;
  }).join('')}</div>`;
}

async function run(ns, name, date) {
  crumbs([[`#/grid/${enc(ns)}/${enc(name)}`, `${ns}/${name}`], [location.hash, date]]);
  const base = `/workflows/${enc(ns)}/${enc(name)}/runs/${enc(date)}`;
  main.innerHTML = '<div id="run"></div>';
  // Task kinds by reference, from the definition: which records are logs, which events.
  const kinds = new Map();
  const walk = (tasks) => { for (const t of tasks) { kinds.set(t.reference, t.kind); for (const l of t.lists) walk(l.tasks); } };
  try { walk((await api('GET', `/workflows/${enc(ns)}/${enc(name)}/graph`)).tasks); } catch (e) { if (e instanceof Stop) return; }
  let last = '';
  // The instance's task logs, read on from where the last look stopped.
  let logs = { instance: null, after: 0, entries: [] };
  const readLogs = async (id) => {
    if (!id) return;
    if (logs.instance !== id) logs = { instance: id, after: 0, entries: [] };
    for (;;) {
      const page = await api('GET', `/instances/${enc(id)}/logs?after=${logs.after}`);
      logs.entries.push(...page.entries);
      logs.after = page.next;
      if (page.entries.length < 1000) break;
    }
  };
  const draw = async () => {
    const r = await api('GET', base);
    const instance = r.instance ? await api('GET', `/instances/${enc(r.instance)}`) : null;
    await readLogs(r.instance);
    const text = JSON.stringify([r, instance, logs.after]);
    if (text === last) return;
    last = text;
    // The lifecycle events are a replay of the history: read only when something changed.
    const lifecycle = r.instance ? (await api('GET', `/instances/${enc(r.instance)}/lifecycle`)).events : [];
    const open = new Set([...main.querySelectorAll('details[open]')].map((d) => d.dataset.key));
    const state = runState(r);
    const tasks = r.tasks || [];
    const waiting = [].concat(r.waiting || []).filter((w) => w && (typeof w !== 'object' || Object.keys(w).length)).map((w) => `<li>${esc(JSON.stringify(w))}</li>`).join('');
    const events = tasks.flatMap((t) => {
      if (kinds.get(t.reference) === 'emit' && t.output) return [['emitted', t, [t.output]]];
      if (kinds.get(t.reference) === 'listen' && Array.isArray(t.output)) return [['consumed', t, t.output]];
      return [];
    });
    $('#run').innerHTML = `<h1>${esc(ns)}/${esc(name)} — ${esc(date)} <span class="badge s-${esc(state)}" id="run-state">${esc(state)}</span></h1>
      <p>${esc(r.kind)} run, version ${esc(r.version)}; instance <code>${esc(r.instance || 'not started')}</code>;
        data interval ${esc(r.dataInterval.start)} – ${esc(r.dataInterval.end)}; ${esc(duration(r.startedAt, r.endedAt))}</p>
      <section class="toolbar" id="run-actions">
        <button data-act="retry">Retry from the failure</button>
        <button data-act="clear">Run again from the start</button>
        <button data-act="mark-failed">Mark failed</button>
        <button data-act="mark-succeeded">Mark succeeded</button>
        <button data-control="cancel">Cancel</button>
        <button data-control="suspend">Suspend</button>
        <button data-control="resume">Resume</button>
      </section>
      ${waiting ? `<h2>Waiting</h2><ul>${waiting}</ul>` : ''}
      ${instance && instance.error ? `<h2>Error</h2><pre class="error">${json(instance.error)}</pre>` : ''}
      <p><a href="#/graph/${enc(ns)}/${enc(name)}/${enc(date)}">graph of this run</a></p>
      <h2>Timeline</h2>${gantt(tasks)}
      <h2>Tasks</h2>
      <table class="list tasks"><thead><tr><th>task</th><th>state</th><th>attempts</th><th>took</th><th></th></tr></thead><tbody>
      ${tasks.map((t, i) => `<tr data-reference="${esc(t.reference)}" data-state="${esc(t.status)}">
        <td><code title="${esc(t.reference)}">${esc(t.name)}</code></td><td><span class="badge s-${esc(t.status)}">${esc(t.status)}</span></td>
        <td>${t.attempts}</td><td>${esc(duration(t.startedAt, t.endedAt))}</td>
        <td>${/^\/do\/\d+\/[^/]+$/.test(t.reference) ? `<button data-task-act="retry">Retry from here</button>
          <button data-task-act="mark-failed">Mark failed</button><button data-task-act="mark-succeeded">Mark succeeded</button>` : ''}</td></tr>
        <tr class="io"><td colspan="5"><details data-key="${i}"><summary>input, output, error</summary>
          <div class="io-grid"><div><h3>input</h3><pre>${json(t.input)}</pre></div><div><h3>output</h3><pre>${json(t.output)}</pre></div>
          ${t.error ? `<div><h3>error</h3><pre class="error">${json(t.error)}</pre></div>` : ''}</div>
          ${kinds.get(t.reference) === 'run' ? log(t, logs.entries.filter((e) => e.task === t.reference)) : ''}</details></td></tr>`).join('')}
      </tbody></table>
      <h2>CloudEvents</h2>${events.length ? `<table class="list events"><thead><tr><th></th><th>task</th><th>type</th><th>source</th><th>id</th><th>time</th></tr></thead><tbody>
        ${events.flatMap(([how, t, list]) => list.map((e) => `<tr data-event="${esc(how)}"><td>${how}</td><td><code>${esc(t.name)}</code></td>
          <td>${esc(e && e.type)}</td><td>${esc(e && e.source)}</td><td>${esc(e && e.id)}</td><td>${esc(e && e.time)}</td></tr>
          <tr class="io"><td colspan="6"><details data-key="event-${esc(t.reference)}-${esc(e && e.id)}"><summary>event</summary><pre>${json(e)}</pre></details></td></tr>`)).join('')}
        </tbody></table>` : '<p>No task of this run emitted or consumed an event.</p>'}
      <h3>Lifecycle events</h3>${lifecycle.length ? `<table class="list lifecycle"><thead><tr><th>type</th><th>subject</th><th>time</th></tr></thead><tbody>
        ${lifecycle.map((e, i) => { const kind = e.type.replace(/^io\.serverlessworkflow\./, '').replace(/\.v1$/, '');
          return `<tr data-lifecycle="${esc(kind)}"><td>${esc(kind)}</td><td><code>${esc(e.subject)}</code></td><td>${esc(e.time)}</td></tr>
          <tr class="io"><td colspan="3"><details data-key="life-${i}"><summary>event</summary><pre>${json(e)}</pre></details></td></tr>`; }).join('')}
        </tbody></table>` : '<p>Not started.</p>'}
      ${instance ? `<h2>Workflow input and output</h2><div class="io-grid"><div><pre>${json(instance.input)}</pre></div><div><pre>${json(instance.output)}</pre></div></div>` : ''}`;
    for (const d of main.querySelectorAll('details')) if (open.has(d.dataset.key)) d.open = true;
    for (const b of main.querySelectorAll('button[data-act]')) {
      const action = b.dataset.act;
      // Retrying from the failure needs one: a faulted, cancelled or marked-failed run.
      if (action === 'retry') b.disabled = !['faulted', 'cancelled', 'marked-failed'].includes(state);
      const say = {
        retry: `Run ${date} again from the step that failed? Tasks that completed keep their output.`,
        clear: `Run ${date} again from the start, as a new instance?`,
        'mark-failed': `Mark the run for ${date} failed? An unfinished instance is cancelled.`,
        'mark-succeeded': `Mark the run for ${date} succeeded? An unfinished instance is cancelled.`,
      }[action];
      b.addEventListener('click', () => act(say, async () => { await api('POST', `${base}/${action}`, {}); last = ''; return `${action}: requested.`; }, draw));
    }
    for (const b of main.querySelectorAll('button[data-control]')) {
      const control = b.dataset.control;
      // What the instance is in decides what applies: nothing once it ended, resume only
      // when suspended, suspend only when not.
      const now = instance ? instance.status : '';
      b.disabled = !instance || ['completed', 'faulted', 'cancelled'].includes(now)
        || (control === 'resume' ? now !== 'suspended' : control === 'suspend' && now === 'suspended');
      b.addEventListener('click', () => act(`${control[0].toUpperCase()}${control.slice(1)} the instance of ${date}?`,
        async () => { await api('POST', `/instances/${enc(r.instance)}/${control}`); last = ''; return `${control}: requested.`; }, draw));
    }
    for (const b of main.querySelectorAll('button[data-task-act]')) {
      const action = b.dataset.taskAct;
      const task = b.closest('tr').dataset.reference;
      const say = {
        retry: `Run ${date} again from task ${task}? The tasks before it keep their output.`,
        'mark-failed': `Mark task ${task} of ${date} failed?`,
        'mark-succeeded': `Mark task ${task} of ${date} succeeded?`,
      }[action];
      b.addEventListener('click', () => act(say, async () => { await api('POST', `${base}/${action}`, { task }); last = ''; return `${action} ${task}: requested.`; }, draw));
    }
  };
  await live(draw);
}

/// What a run task printed: its stored log, each attempt in turn, stderr in its own colour.
/// A task without one (run by an older nagare, or by `nagare run`) shows what its record
/// holds: the output (stdout by default, or `{code, stdout, stderr}` with `return: all`) and,
/// when it failed, the tail of stderr the error quotes.
function log(t, entries) {
  if (entries.length) {
    const attempts = [...new Set(entries.map((e) => e.attempt))];
    const body = attempts.map((a, i) => (attempts.length > 1 ? `<span class="attempt">--- attempt ${i + 1} ---\n</span>` : '')
      + entries.filter((e) => e.attempt === a).map((e) => `<span class="${esc(e.stream)}">${esc(e.text)}</span>`).join('')).join('');
    return `<div class="log"><h3>log${t.status === 'running' ? ' (live)' : ''}</h3><pre class="log stored">${body}</pre></div>`;
  }
  const out = t.output;
  const parts = [];
  if (typeof out === 'string') parts.push(out);
  else if (out && typeof out === 'object' && ('stdout' in out || 'stderr' in out)) {
    if (out.stdout) parts.push(out.stdout);
    if (out.stderr) parts.push(`--- stderr ---\n${out.stderr}`);
  }
  if (t.error && t.error.detail) parts.push(`--- error ---\n${t.error.detail}`);
  return `<div class="log"><h3>log (from the task's result)</h3><pre class="log">${esc(parts.join('\n') || '(nothing printed)')}</pre></div>`;
}

// ----- routing -----

async function route() {
  stopRefresh();
  generation += 1;
  const [view, ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  try {
    if (view === 'grid' && args.length === 2) await grid(...args);
    else if (view === 'graph' && (args.length === 2 || args.length === 3)) await graph(...args);
    else if (view === 'run' && args.length === 3) await run(...args);
    else await workflows();
  } catch (e) {
    if (!(e instanceof Stop)) main.innerHTML = `<p class="bad">${esc(e.message)}</p>`;
  }
}

$('#logout').addEventListener('click', () => { sessionStorage.removeItem('nagare.token'); route(); });
window.addEventListener('hashchange', route);
route();
