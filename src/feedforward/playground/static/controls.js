// The setup's controls: they show the current setup and turn each user change into a partial
// setup, handed to `change(patch)`.

import { cssClass, cssDiverging, color } from './colors.js';
import { toPixel } from './heatmap.js';

const $ = (id) => document.getElementById(id);

const LEARNING_RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const GRIDS = [10, 25, 50, 75, 100];
const DATASET_NAMES = {
  circle: 'Circle', xor: 'Exclusive or', gaussian: 'Gaussian', spiral: 'Spiral',
  plane: 'Plane', multi_gaussian: 'Multi Gaussian', custom: 'Your data',
};

/** The problem a built-in dataset poses (the server's `tasks`). */
export function taskOf(options, name) {
  return options?.tasks?.[name];
}

/** Feature names in canonical order, whether the options list names or {name, label} objects. */
export function featureNames(options) {
  return (options?.features || []).map((f) => (typeof f === 'string' ? f : f.name));
}

// Simple numeric inputs: element id -> setup key.
const NUMBERS = {
  'train-percent': 'train_percent', 'val-percent': 'val_percent', noise: 'noise',
  samples: 'samples', 'batch-size': 'batch_size', seed: 'seed', classes: 'classes',
  'early-stopping': 'early_stopping', speed: 'speed', grid: 'grid', 'reg-rate': 'reg_rate',
};
const CHOICES = { regularization: 'regularization', initializer: 'initializer' };
const CHECKS = { 'show-test': 'show_test', discretize: 'discretize' };

function fill(select, values, label = (v) => String(v)) {
  select.textContent = '';
  for (const v of values) {
    const o = document.createElement('option');
    o.value = String(v);
    o.textContent = label(v);
    select.appendChild(o);
  }
}

function setSelect(select, value, label = (v) => String(v)) {
  const v = String(value);
  if (![...select.options].some((o) => o.value === v)) {
    const o = document.createElement('option');
    o.value = v; o.textContent = label(value);
    select.appendChild(o);
  }
  select.value = v;
}

function pretty(name) { return name.replace(/_/g, ' '); }

/**
 * Draw points [x1, x2, y] into a dataset's tile: classes in their colours, regression targets on
 * the diverging scale (scaled to the largest |y|). The points come from the server: a preview of
 * each built-in dataset (options.previews), or the custom data itself.
 */
function drawTile(canvas, rows, domain, regression) {
  const ctx = canvas.getContext('2d');
  const s = canvas.width;
  ctx.fillStyle = color('neutral'); ctx.fillRect(0, 0, s, s);
  let m = 0;
  if (regression) for (const r of rows) m = Math.max(m, Math.abs(r[2]));
  for (const [x1, x2, y] of rows) {
    ctx.fillStyle = regression ? cssDiverging(y / (m || 1)) : cssClass(Math.max(0, Math.round(y)));
    const [px, py] = toPixel(domain, s, x1, x2);
    ctx.fillRect(px - 1, py - 1, 2.2, 2.2);
  }
}

export class Controls {
  /**
   * @param {function(object)} change receives a partial setup
   * @param {object} actions play, step, reset, regenerate, addLayer, removeLayer
   */
  constructor(change, actions) {
    this.change = change;
    this.actions = actions;
    this.setup = null;
    this.options = null;
    fill($('learning-rate'), LEARNING_RATES);
    fill($('reg-rate'), REG_RATES);
    fill($('grid'), GRIDS, (g) => `${g} × ${g}`);
    this.bind();
  }

  bind() {
    for (const [id, key] of Object.entries(NUMBERS)) {
      const e = $(id);
      e.addEventListener('input', () => { const o = $(`${id}-out`); if (o) o.textContent = e.value; });
      e.addEventListener('change', () => {
        const v = Number(e.value);
        if (e.value === '' || !Number.isFinite(v)) return;
        this.change({ [key]: v });
      });
    }
    for (const [id, key] of Object.entries(CHOICES)) {
      $(id).addEventListener('change', (e) => this.change({ [key]: e.target.value }));
    }
    for (const [id, key] of Object.entries(CHECKS)) {
      $(id).addEventListener('change', (e) => this.change({ [key]: e.target.checked }));
    }
    $('learning-rate').addEventListener('change', (e) => {
      this.change({ optimizer: { ...this.setup.optimizer, learning_rate: Number(e.target.value) } });
    });
    $('activation').addEventListener('change', (e) => {
      if (e.target.value === 'mixed') return;
      this.change({ layers: this.setup.layers.map((l) => ({ ...l, activation: e.target.value })) });
    });
    $('optimizer').addEventListener('change', (e) => {
      // A new optimizer starts from its own defaults, keeping only the learning rate.
      this.change({ optimizer: { name: e.target.value, learning_rate: this.setup.optimizer.learning_rate } });
    });
    $('schedule').addEventListener('change', (e) => {
      // A new schedule starts from its defaults and the optimizer's learning rate (server side).
      const name = e.target.value;
      this.change({ schedule: name === 'none' ? null : { name } });
    });
    $('problem').addEventListener('change', (e) => {
      const problem = e.target.value;
      if (this.setup.dataset === 'custom') { this.change({ problem }); return; }
      const dataset = this.datasetList().find((d) => taskOf(this.options, d) === problem);
      this.change(dataset ? { problem, dataset } : { problem });
    });
    $('play').addEventListener('click', () => this.actions.play());
    $('step').addEventListener('click', () => this.actions.step());
    $('reset').addEventListener('click', () => this.actions.reset());
    $('regenerate').addEventListener('click', () => this.actions.regenerate());
    $('add-layer').addEventListener('click', () => this.actions.addLayer());
    $('remove-layer').addEventListener('click', () => this.actions.removeLayer());
  }

  /** Build the pickers that depend on the server's options. */
  setOptions(options) {
    this.options = options;
    fill($('activation'), options.activations || []);
    fill($('regularization'), options.regularizations || ['none', 'l1', 'l2'], (r) => (r === 'none' ? 'None' : r.toUpperCase()));
    fill($('initializer'), options.initializers || [], pretty);
    fill($('optimizer'), Object.keys(options.optimizers || {}), pretty);
    fill($('schedule'), ['none', ...Object.keys(options.schedules || {})], (s) => (s === 'none' ? 'constant (none)' : pretty(s)));
    const limits = options.limits || {};
    for (const [id, key] of Object.entries(NUMBERS)) {
      const lim = limits[key];
      if (lim && $(id).tagName === 'INPUT') { $(id).min = lim[0]; $(id).max = lim[1]; }
    }
    const box = $('datasets');
    box.textContent = '';
    for (const name of [...this.datasetList(), 'custom']) {
      const problem = name === 'custom' ? null : taskOf(options, name);
      const b = document.createElement('button');
      b.className = 'dataset';
      b.dataset.dataset = name;
      b.dataset.testid = `dataset-${name}`;
      b.title = problem ? `${DATASET_NAMES[name] || name} (${problem})` : 'Your uploaded or drawn points';
      const c = document.createElement('canvas');
      c.width = 48; c.height = 48;
      if (problem) drawTile(c, options.previews[name], options.domain, problem === 'regression');
      const cap = document.createElement('span');
      cap.textContent = DATASET_NAMES[name] || name;
      b.append(c, cap);
      b.addEventListener('click', () => this.change(problem ? { dataset: name, problem } : { dataset: name }));
      box.appendChild(b);
    }
  }

  /** Take the server's data: the training points bound the batch size; custom data has a tile. */
  showData(data) {
    this.trainPoints = (data.train || []).length;
    $('batch-size').max = Math.max(1, this.trainPoints);
    const c = document.querySelector('[data-testid=dataset-custom] canvas');
    if (!c || this.setup?.dataset !== 'custom') return; // the tile shows only for custom data
    const rows = ['train', 'val', 'test'].flatMap((part) => data[part] || []);
    drawTile(c, rows, this.options.domain, this.setup.problem === 'regression');
  }

  /** The built-in datasets, classification first. */
  datasetList() {
    const all = Array.isArray(this.options?.datasets) ? this.options.datasets
      : Object.values(this.options?.datasets || {}).flat();
    const builtIn = all.filter((d) => d !== 'custom');
    return [...builtIn.filter((d) => taskOf(this.options, d) === 'classification'),
      ...builtIn.filter((d) => taskOf(this.options, d) === 'regression')];
  }

  /** Show a setup in every control; `force` also redraws what has the focus (after a refusal). */
  render(setup, force = false) {
    this.setup = setup;
    if (force) {
      for (const id of ['optimizer-params', 'schedule-params']) delete $(id).dataset.sig;
      if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
    }
    const focus = document.activeElement;
    for (const [id, key] of Object.entries(NUMBERS)) {
      const e = $(id);
      if (e === focus && e.type === 'number') continue;
      if (e.tagName === 'SELECT') setSelect(e, setup[key]); else e.value = setup[key];
      const o = $(`${id}-out`);
      if (o) o.textContent = setup[key];
    }
    if (this.trainPoints !== undefined) $('batch-size').max = Math.max(1, this.trainPoints);
    for (const [id, key] of Object.entries(CHOICES)) setSelect($(id), setup[key], pretty);
    for (const [id, key] of Object.entries(CHECKS)) $(id).checked = !!setup[key];
    setSelect($('learning-rate'), setup.optimizer.learning_rate);
    $('learning-rate').title = setup.schedule ? "The schedule's initial rate; the rate now is beside the box" : '';
    setSelect($('optimizer'), setup.optimizer.name, pretty);
    setSelect($('schedule'), setup.schedule ? setup.schedule.name : 'none', pretty);
    $('problem').value = setup.problem;
    const acts = [...new Set(setup.layers.map((l) => l.activation))];
    setSelect($('activation'), acts.length === 1 ? acts[0] : acts.length ? 'mixed' : ($('activation').value || 'tanh'));
    $('layer-count').textContent = setup.layers.length;
    const lim = this.options?.limits?.layers || [0, 8];
    $('add-layer').disabled = setup.layers.length >= lim[1];
    $('remove-layer').disabled = setup.layers.length <= lim[0];
    const custom = setup.dataset === 'custom';
    for (const id of ['samples', 'noise']) {
      $(id).disabled = custom;
      $(id).title = custom ? 'Your own data has its own points and noise' : '';
    }
    const multi = this.options?.multiclass_datasets || ['gaussian', 'spiral'];
    $('classes-field').hidden = !multi.includes(setup.dataset);
    for (const b of document.querySelectorAll('#datasets .dataset')) {
      b.classList.toggle('selected', b.dataset.dataset === setup.dataset);
      if (b.dataset.dataset === 'custom') b.hidden = setup.dataset !== 'custom';
    }
    this.renderParams($('optimizer-params'), this.options?.optimizers?.[setup.optimizer.name] || {},
      setup.optimizer, ['name', 'learning_rate'],
      (patch) => this.change({ optimizer: { ...this.setup.optimizer, ...patch } }), 'opt');
    const sched = setup.schedule;
    this.renderParams($('schedule-params'), sched ? this.options?.schedules?.[sched.name] || {} : {},
      sched || {}, ['name'],
      (patch) => this.change({ schedule: { ...this.setup.schedule, ...patch } }), 'sched');
    const draw = $('draw-label');
    const k = setup.problem === 'regression' ? 0 : setup.classes || 2;
    if (draw.options.length !== k) {
      fill(draw, Array.from({ length: k }, (_, i) => i), (i) => `class ${i}`);
      [...draw.options].forEach((o, i) => { o.style.color = cssClass(i); });
    }
    draw.hidden = setup.problem === 'regression';
    $('draw-value').hidden = setup.problem !== 'regression';
  }

  /** One input per parameter: a checkbox for a boolean, a number box otherwise (empty = off). */
  renderParams(box, defaults, current, skip, onChange, prefix) {
    const names = Object.keys(defaults).filter((n) => !skip.includes(n));
    const sig = JSON.stringify([prefix, names, current]);
    if (box.dataset.sig === sig) return;
    if (box.contains(document.activeElement)) return; // don't rebuild under the user's cursor
    box.dataset.sig = sig;
    box.textContent = '';
    for (const name of names) {
      const def = defaults[name];
      const val = current[name] !== undefined ? current[name] : def;
      const row = document.createElement('label');
      row.className = 'param';
      const span = document.createElement('span');
      span.textContent = pretty(name);
      const input = document.createElement('input');
      input.dataset.testid = `${prefix}-${name}`;
      if (typeof def === 'boolean') {
        input.type = 'checkbox';
        row.classList.add('flag'); // the box beside its name, not across the column
        input.checked = !!val;
        input.addEventListener('change', () => onChange({ [name]: input.checked }));
        row.append(input, span);
      } else if (Array.isArray(def)) {
        input.type = 'text';
        input.value = (val || []).join(', ');
        input.addEventListener('change', () => {
          const list = input.value.split(',').map((x) => Number(x.trim())).filter((x) => x === x);
          onChange({ [name]: list });
        });
        row.append(span, input);
      } else {
        input.type = 'number';
        input.step = 'any';
        input.placeholder = def === null ? 'off' : '';
        input.value = val === null || val === undefined ? '' : val;
        input.addEventListener('change', () => {
          const v = input.value.trim() === '' ? null : Number(input.value);
          if (v !== null && !Number.isFinite(v)) return;
          onChange({ [name]: v === null && def !== null ? def : v });
        });
        row.append(span, input);
      }
      box.appendChild(row);
    }
  }
}
