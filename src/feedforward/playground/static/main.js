// The playground page: it keeps the setup, sends the user's changes to the server over one
// WebSocket, and draws the frames the server sends back. All training happens on the server.

import { Socket, unpack } from './socket.js';
import { readHash, writeHash } from './hash.js';
import { Controls, featureNames } from './controls.js';
import { NetworkView } from './network.js';
import { Heatmap } from './heatmap.js';
import { LossChart, fmt } from './chart.js';
import { renderInspect } from './inspect.js';
import { cssClass } from './colors.js';
import { drawLegend, drawAxes } from './legend.js';
import { previewOnMap } from './preview.js';

const $ = (id) => document.getElementById(id);

const app = {
  session: null,
  options: null,
  setup: null, // what the controls show (may run ahead of the server by one change)
  output: null, // the server's output layer for the confirmed setup: {units, activation, loss}
  confirmed: null, // the last setup the server validated
  running: false,
  data: null,
  frame: null, // the newest frame, drawn on the next animation frame
  heat: null,
  edit: null, // the weight or bias the editor is changing
  hover: null, // the thumbnail shown full size
  inspected: null, // the inspected batch's points, ringed on the map
  linkSetup: null, // {setup, tries}: a setup from the address, until the server accepts it
  greeting: false, // the state that follows hello is yet to come
};

// Counters for tests and for the curious: open the console and read window.ffStats.
const stats = {
  framesDrawn: 0, framesReceived: 0, lastFrame: null, messages: {}, errors: [],
  session: null, setup: null, running: false, lastCode: null, lastInspect: null,
  lastData: null, dataCounts: null,
  drawMs: 0, lastDrawMs: 0, // time spent drawing frames (total, last)
};
window.ffStats = stats;

let socket;
const chart = new LossChart($('chart'), $('chart-tip'));
const heatmap = new Heatmap($('heatmap'), $('points'));
const controls = new Controls(change, {
  play: () => setRunning(!app.running),
  step: () => { setRunning(false); socket.send({ type: 'step' }); },
  reset: () => { socket.send({ type: 'reset' }); },
  regenerate: () => socket.send({ type: 'regenerate' }),
  addLayer: () => {
    const layers = app.setup.layers;
    const last = layers[layers.length - 1];
    change({ layers: [...layers, { units: last ? last.units : 4, activation: last ? last.activation : $('activation').value || 'tanh', dropout: 0 }] });
  },
  removeLayer: () => change({ layers: app.setup.layers.slice(0, -1) }),
});
const network = new NetworkView($('network'), {
  toggleFeature,
  changeLayer: (i, patch) => {
    const lim = app.options?.limits?.units || [1, 32];
    if (patch.units !== undefined && (patch.units < lim[0] || patch.units > lim[1])) {
      toast(`A layer has ${lim[0]} to ${lim[1]} neurons.`);
      return;
    }
    change({ layers: app.setup.layers.map((l, j) => (j === i ? { ...l, ...patch } : l)) });
  },
  editWeight: (layer, from, to, value, label) => openEditor({ type: 'set_weight', layer, from, to }, value, label),
  editBias: (layer, unit, value, label) => openEditor({ type: 'set_bias', layer, unit }, value, label),
  hoverNode: showHover,
  linkTip,
});

function toast(text, kind = 'error') {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast ${kind}`;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 6000);
}

/** Apply a partial setup here at once, and ask the server to validate and apply it. */
function change(patch) {
  if (!socket.open) { refused(); return; } // the server would never see it: keep what it has
  app.setup = { ...app.setup, ...patch };
  writeHash(app.setup);
  render();
  socket.send({ type: 'setup', setup: patch });
}

function toggleFeature(name) {
  const on = app.setup.features.includes(name);
  if (on && app.setup.features.length === 1) { toast('The network needs at least one input feature.'); return; }
  const order = featureNames(app.options);
  const next = on ? app.setup.features.filter((f) => f !== name) : [...app.setup.features, name];
  change({ features: order.filter((f) => next.includes(f)) });
}

function setRunning(running) {
  if (running && !socket.open) { refused(); return; }
  app.running = running;
  stats.running = running;
  socket.send({ type: running ? 'play' : 'pause' });
  showRunning();
}

function showRunning() {
  const b = $('play');
  b.innerHTML = app.running ? '<svg viewBox="0 0 24 24"><path d="M6 19h4V5H6v14zm8-14v14h4V5h-4z"/></svg>'
    : '<svg viewBox="0 0 24 24"><path d="M8 5v14l11-7z"/></svg>';
  b.classList.toggle('running', app.running);
  b.title = app.running ? 'Pause' : 'Run';
}

function render(force = false) {
  if (!app.setup || !app.options) return;
  controls.render(app.setup, force);
  if (app.output) network.build(app.setup, app.options, app.output);
  $('loss-val-row').hidden = !(app.setup.val_percent > 0);
  heatmap.drawPoints(app.data, { showTest: app.setup.show_test, problem: app.setup.problem,
    highlight: app.inspected });
  // after drawPoints, which sets the regression scale from the targets
  drawLegend($('colorbar'), { problem: app.setup.problem, units: app.output?.units,
    scale: heatmap.scale, discretize: app.setup.discretize });
  if (app.heat) heatmap.draw(app.heat, { discretize: app.setup.discretize, problem: app.setup.problem });
  network.paint();
}

// ---- messages from the server -------------------------------------------------------------

const handlers = {
  hello(msg) {
    app.session = msg.session;
    stats.session = msg.session;
    app.options = msg.options;
    controls.setOptions(msg.options);
    heatmap.domain = msg.options.domain;
    drawAxes($('ticks-x1'), $('ticks-x2'), msg.options.domain);
    $('export').href = `/api/export/${encodeURIComponent(msg.session)}`;
    // A link's setup (or the one we had before a reconnect) wins over the server's default.
    const wanted = readHash() || app.setup;
    app.setup = msg.setup;
    app.confirmed = msg.setup;
    render();
    showRunning();
    app.greeting = true;
    if (wanted) sendLinkSetup(wanted, 5);
  },
  state(msg) {
    // The first state after hello is the server's default; the next answers the link's setup.
    if (app.greeting) app.greeting = false; else app.linkSetup = null;
    app.setup = msg.setup;
    app.confirmed = msg.setup;
    app.output = msg.output;
    stats.setup = msg.setup;
    if (typeof msg.running === 'boolean') { app.running = msg.running; stats.running = msg.running; showRunning(); }
    $('param-count').textContent = msg.parameters !== undefined ? `${msg.parameters} trainable parameters` : '';
    writeHash(msg.setup);
    render();
  },
  data(msg) {
    app.data = msg;
    controls.showData(msg);
    stats.lastData = msg;
    const n = (part) => (msg[part] || []).length;
    stats.dataCounts = { train: n('train'), val: n('val'), test: n('test'), total: n('train') + n('val') + n('test') };
    showPointRoom(stats.dataCounts.total);
    showPointsWarning('');
    render();
  },
  frame(msg) {
    stats.framesReceived++;
    stats.lastFrame = msg;
    // History holds only the new points, so every frame feeds the chart even if not drawn.
    if (msg.history_reset || msg.epoch < chart.last) {
      chart.clear();
      clearInspect();
    }
    chart.add(msg.history);
    app.frame = msg;
    requestAnimationFrame(drawFrame);
  },
  stopped(msg) {
    app.running = false;
    stats.running = false;
    showRunning();
    toast(msg.message || `Training stopped (${msg.reason}).`, msg.reason === 'diverged' ? 'error' : 'info');
  },
  inspect(msg) {
    stats.lastInspect = msg;
    renderInspect($('inspect-view'), msg);
    app.inspected = msg.batch?.points || null; // ringed on the map
    render();
  },
  code(msg) {
    stats.lastCode = msg.python;
    $('code-text').textContent = msg.python;
    // coloured by Prism (a static file) when it has loaded; plain text otherwise
    if (window.Prism?.languages?.python) $('code-text').innerHTML = window.Prism.highlight(msg.python, window.Prism.languages.python, 'python');
    const save = $('code-save');
    if (save.href.startsWith('blob:')) URL.revokeObjectURL(save.href);
    save.href = URL.createObjectURL(new Blob([msg.python], { type: 'text/x-python' }));
    if (!$('code-dialog').open) $('code-dialog').showModal();
  },
  error(msg) {
    stats.errors.push(msg);
    toast(msg.message || 'The server refused that.');
    if (msg.field === 'csv') showPointsWarning(msg.message); // stays until data comes
    // A link from another version may hold a field this server refuses: drop it, keep the rest.
    const link = app.linkSetup;
    const key = /^setup\.(\w+)/.exec(msg.field || '')?.[1];
    if (link && key && key in link.setup && link.tries > 0) {
      const { [key]: _dropped, ...rest } = link.setup;
      sendLinkSetup(rest, link.tries - 1);
      return;
    }
    // Show what the server still has, not the refused change.
    if (app.confirmed) { app.setup = app.confirmed; writeHash(app.setup); render(true); }
  },
};

/** Send a setup that came with the page's address; on a refusal, the error handler retries. */
function sendLinkSetup(setup, tries) {
  app.linkSetup = { setup, tries };
  socket.send({ type: 'setup', setup });
}

function clearInspect() {
  const box = $('inspect-view');
  if (app.inspected) { app.inspected = null; render(); }
  if (!box.querySelector('.inspect-layer')) return;
  box.innerHTML = '<span class="muted">The network changed: inspect a batch again.</span>';
}

function onMessage(msg) {
  stats.messages[msg.type] = (stats.messages[msg.type] || 0) + 1;
  const h = handlers[msg.type];
  if (h) h(msg);
}

function onStatus(status) {
  const c = $('conn');
  c.textContent = { open: 'connected', closed: 'disconnected, retrying…', connecting: 'connecting…' }[status];
  c.className = `conn ${status}`;
  // Nothing trains while the server is out of reach: play is off until it answers again.
  const down = status !== 'open';
  document.body.classList.toggle('disconnected', down);
  if (down && app.running) { app.running = false; stats.running = false; }
  showRunning();
  $('play').disabled = down;
  if (down) $('play').title = 'Disconnected from the training server: reconnecting';
}

/** A change made while the connection is down: not sent, and the controls show the server's setup. */
function refused() {
  toast('Not connected to the training server: that change was not made. The page reconnects by itself.');
  if (app.confirmed) { app.setup = app.confirmed; render(true); }
}

// ---- drawing a frame ----------------------------------------------------------------------

function setText(id, text) {
  const e = $(id);
  if (e.textContent !== text) e.textContent = text;
}

function drawFrame() {
  const f = app.frame;
  if (!f) return; // already drawn: several frames arrived within one animation frame
  app.frame = null;
  const t0 = performance.now();
  // The chart first: a canvas's font needs up-to-date styles, which DOM writes would make stale.
  chart.draw();
  setText('epoch', String(f.epoch).padStart(6, '0').replace(/(\d)(?=(\d{3})+$)/g, '$1,')); // 000,149
  $('epoch-progress').value = f.epoch_progress || 0; // a long epoch, as it goes
  // with a schedule, the rate of the next step beside the box (which holds the initial rate)
  const rate = app.setup?.schedule && typeof f.learning_rate === 'number' ? `now ${Number(f.learning_rate.toPrecision(3))}` : '';
  setText('rate-now', rate);
  for (const part of ['train', 'val', 'test']) setText(`loss-${part}`, fmt(f.loss?.[part]));
  const m = f.metric || {};
  setText('metric-name', m.name === 'r2' ? 'R²' : m.name || 'accuracy');
  for (const part of ['train', 'val', 'test']) {
    const v = m[part];
    setText(`metric-${part}`, v === null || v === undefined ? '–' : m.name === 'accuracy' ? `${(v * 100).toFixed(1)}%` : v.toFixed(3));
  }
  let heat = null;
  if (f.heatmap) {
    heat = app.heat = unpack(f.heatmap);
    heatmap.draw(heat, { discretize: app.setup?.discretize, problem: app.setup?.problem });
  }
  const neurons = f.neurons ? f.neurons.map(unpack) : null;
  network.update({ weights: f.weights, biases: f.biases, neurons, heat, heatCanvas: $('heatmap') });
  network.diagnose(f.doctor);
  drawFindings(f.doctor);
  drawConfusion(f.confusion);
  if (app.hover) refreshHover();
  stats.framesDrawn++;
  stats.links = network.linkStats; // {painted, ms}: link paints by the worker
  stats.lastDrawMs = performance.now() - t0;
  stats.drawMs += stats.lastDrawMs;
}

function drawFindings(doctor) {
  const items = doctor?.findings || [];
  const key = JSON.stringify(items);
  const ul = $('findings');
  if (ul.dataset.key === key) return;
  ul.dataset.key = key;
  ul.textContent = '';
  if (!items.length) {
    const li = document.createElement('li');
    li.className = 'muted';
    li.textContent = 'No problems found.';
    ul.appendChild(li);
  }
  for (const finding of items) ul.appendChild(findingItem(finding));
}

/** A finding: its title and cause, then each fix with an Apply button, or why the page cannot. */
function findingItem(finding) {
  const li = document.createElement('li');
  li.className = 'finding';
  li.dataset.testid = `finding-${finding.name}`;
  const title = document.createElement('strong');
  title.textContent = finding.title;
  li.append(title, `: ${finding.cause}.`);
  const fixes = document.createElement('ul');
  fixes.className = 'fixes';
  finding.fixes.forEach((fix, i) => {
    const item = document.createElement('li');
    item.append(`Try: ${fix.text}`);
    if (fix.setup) {
      const control = document.createElement('span');
      control.className = 'control';
      control.textContent = fix.control;
      const apply = document.createElement('button');
      apply.className = 'apply';
      apply.textContent = 'Apply';
      apply.title = `Set ${fix.control}`;
      apply.dataset.testid = `apply-${finding.name}-${i}`;
      apply.addEventListener('click', () => {
        change(fix.setup);
        toast(`Applied: ${fix.control}.`, 'info');
      });
      item.append(' → ', control, ' ', apply);
    } else {
      item.classList.add('unavailable');
      const why = document.createElement('span');
      why.className = 'why';
      why.textContent = fix.already ? `Already set: ${fix.unavailable}.`
                                    : `Not in the playground: ${fix.unavailable}.`;
      item.append(' ', why);
    }
    fixes.appendChild(item);
  });
  li.appendChild(fixes);
  return li;
}

function drawConfusion(cm) {
  const wrap = $('confusion-wrap');
  if (wrap.hidden !== !cm) wrap.hidden = !cm;
  if (!cm) return;
  const key = JSON.stringify(cm);
  const t = $('confusion');
  if (t.dataset.key === key) return;
  t.dataset.key = key;
  t.textContent = '';
  const head = t.insertRow();
  head.appendChild(document.createElement('th')).textContent = 'true \\ pred';
  cm.forEach((_, j) => {
    const th = document.createElement('th');
    th.textContent = j;
    th.style.color = cssClass(j);
    head.appendChild(th);
  });
  cm.forEach((row, i) => {
    const tr = t.insertRow();
    const th = document.createElement('th');
    th.textContent = i;
    th.style.color = cssClass(i);
    tr.appendChild(th);
    const total = row.reduce((a, b) => a + b, 0) || 1;
    row.forEach((v, j) => {
      const td = tr.insertCell();
      td.textContent = v;
      const share = v / total;
      td.style.background = `color-mix(in srgb, var(--${i === j ? 'right' : 'wrong'}) ${Math.round(share * 60)}%, transparent)`;
    });
  });
}

// ---- hover, link tips, editor --------------------------------------------------------------

function showHover(info, event) {
  const box = $('hover');
  app.hover = info;
  if (!info) { box.hidden = true; previewOnMap($('map-preview'), $('map-label'), null); return; }
  box.hidden = false;
  box.querySelector('div').textContent = info.title;
  refreshHover();
  const x = Math.min(event.clientX + 16, window.innerWidth - 200);
  const y = Math.min(event.clientY + 16, window.innerHeight - 200);
  box.style.left = `${x}px`;
  box.style.top = `${y}px`;
}

function refreshHover() {
  const { canvas, sx, sy, sw, sh } = app.hover;
  const dst = $('hover').querySelector('canvas');
  if (dst.width !== sw || dst.height !== sh) { dst.width = sw || 20; dst.height = sh || 20; }
  const ctx = dst.getContext('2d');
  ctx.clearRect(0, 0, dst.width, dst.height);
  if (canvas) ctx.drawImage(canvas, sx, sy, sw, sh, 0, 0, sw, sh);
  previewOnMap($('map-preview'), $('map-label'), app.hover); // and large, on the output map
}

function linkTip(text, event) {
  const tip = $('link-tip');
  if (!text) { tip.hidden = true; return; }
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
}

function openEditor(message, value, label) {
  app.edit = message;
  $('editor-title').textContent = label;
  $('editor-value').value = String(value); // as sent (5 decimals): Set without a change keeps it
  $('editor-hint').textContent = `Now ${value}. Enter sets the new value, Escape cancels.`;
  $('editor').returnValue = ''; // Escape leaves the last close's value in place
  $('editor').showModal();
  $('editor-value').select();
}

$('editor').addEventListener('close', () => {
  const v = Number($('editor-value').value);
  if ($('editor').returnValue === 'apply' && app.edit) {
    if ($('editor-value').value.trim() === '' || !Number.isFinite(v)) toast('Enter a finite number.');
    else socket.send({ ...app.edit, value: v });
  }
  app.edit = null;
});

// ---- data: upload, drawing points ----------------------------------------------------------

$('csv-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  if (file.size > 1_000_000) { toast('That file is over 1 MB; the playground takes up to 5,000 rows.'); return; }
  socket.send({ type: 'upload', csv: await file.text() });
  e.target.value = '';
});

$('points').addEventListener('click', (e) => {
  if (!$('draw-mode').checked || !app.setup) return;
  // the map's edge is the domain's edge; three decimals are plenty for a click
  const [lo, hi] = heatmap.domain;
  const [x1, x2] = heatmap.toData(e).map((v) => Math.round(Math.max(lo, Math.min(hi, v)) * 1000) / 1000);
  const label = app.setup.problem === 'regression' ? Number($('draw-value').value) : Number($('draw-label').value);
  socket.send({ type: 'add_point', x1, x2, label });
});

$('draw-mode').addEventListener('change', (e) => $('map').classList.toggle('drawing', e.target.checked));

/** A refused upload's reason, beside the upload button (empty: hidden). */
function showPointsWarning(text) {
  const w = $('points-warning');
  w.textContent = text ? `Not uploaded: ${text.replace(/^csv: /, '')}` : '';
  w.hidden = !text;
}

/** The server takes at most limits.points points: at the cap, drawing is off and says why. */
function showPointRoom(total) {
  const cap = app.options?.limits?.points;
  const full = cap !== undefined && total >= cap;
  const draw = $('draw-mode');
  if (full && draw.checked) { draw.checked = false; $('map').classList.remove('drawing'); }
  draw.disabled = full;
  $('draw-hint').textContent = full
    ? `The data has ${total.toLocaleString('en')} points, the most the playground takes; upload a CSV file or pick a dataset to start again.`
    : 'Tick \u201cDraw points\u201d, then click the output map to add a point.';
}

// ---- the rest of the buttons ---------------------------------------------------------------

$('log-scale').addEventListener('change', (e) => { chart.log = e.target.checked; chart.draw(); });
$('show-code').addEventListener('click', () => socket.send({ type: 'code' }));
$('code-close').addEventListener('click', () => $('code-dialog').close());
$('code-copy').addEventListener('click', () => {
  navigator.clipboard?.writeText($('code-text').textContent).then(() => toast('Copied.', 'info'), () => {});
});
$('inspect').addEventListener('click', () => socket.send({ type: 'inspect' }));
$('step-inspect').addEventListener('click', () => {
  setRunning(false);
  socket.send({ type: 'step' });
  socket.send({ type: 'inspect' });
});
document.addEventListener('keydown', (e) => {
  if (e.target.closest('input, select, textarea, button, dialog')) return;
  if (e.code === 'Space') { e.preventDefault(); setRunning(!app.running); }
});
window.addEventListener('resize', () => { render(); chart.draw(); });
// A setup pasted into the address bar of an open page (writeHash itself fires no hashchange).
window.addEventListener('hashchange', () => {
  const wanted = readHash();
  if (wanted) sendLinkSetup(wanted, 5);
});

// For tests and debugging: feed the page a message as if the server had sent it.
window.ffPage = { onMessage, network, chart, heatmap };

socket = new Socket(onMessage, onStatus, refused);
socket.connect();
