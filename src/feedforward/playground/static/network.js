// The network drawing: feature tiles, one column of neurons per hidden layer, the output, and the
// links between them, coloured by sign and thickened by size of the weight. Links and neuron
// pictures are painted on one canvas per frame (thousands of restyled SVG paths, or hundreds of
// small canvases, would cost the browser tens of milliseconds); transparent SVG paths above it
// take the mouse, for hovering and editing, and plain divs mark the nodes.
// Dense layer i joins column i to column i + 1 (column 0: the active features).

import { cssDiverging, cssClass, putDiverging, classRgb, getPalette, color } from './colors.js';
import { drawThumb } from './heatmap.js';
import { paintLinks, flatKernels } from './linkpaint.js';
import { featureNames } from './controls.js';
import { unpack } from './socket.js';

const SVGNS = 'http://www.w3.org/2000/svg';
const THUMB = 20;
const HEAD = 78; // room above the columns for each layer's controls

function el(tag, cls, parent, html) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (html !== undefined) e.innerHTML = html;
  if (parent) parent.appendChild(e);
  return e;
}

function svg(tag, attrs, parent) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

export class NetworkView {
  /**
   * @param {HTMLElement} root the container
   * @param {object} hooks toggleFeature(name), changeLayer(i, patch), editWeight(layer, from, to, value, label),
   *   editBias(layer, unit, value, label), hoverNode(info | null, event), linkTip(text | null, event)
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.key = null;
    this.links = []; // per dense layer: {xa, xb, ya: [...], yb: [...]}
    this.rects = []; // per column: the nodes' squares {x, y, s} on the canvas
    this.biases = []; // per dense layer: bias squares
    this.nodes = []; // per column: node divs
    this.weights = null;
    this.biasValues = null;
  }

  /**
   * Rebuild the drawing when the structure (features, layers, output layer) changes.
   *
   * @param {object} output the server's output layer for the setup: {units, activation, loss}
   */
  build(setup, options, output) {
    const outputs = output.units;
    const structure = JSON.stringify([setup.features, setup.layers.map((l) => l.units), output]);
    const rowRoom = this.rowRoom();
    const key = JSON.stringify([structure, setup.layers, this.root.clientWidth, rowRoom]);
    if (key === this.key) { this.updateHeaders(setup, options); return; }
    this.key = key;
    // Same neurons, new size (a resize, an activation): the last frame's pictures still hold.
    const same = structure === this.structure;
    this.structure = structure;
    this.setup = setup;
    this.root.textContent = '';
    this.biases = [];
    this.outputs = outputs;
    this.output = output;
    const allFeatures = featureNames(options);
    this.labels = Object.fromEntries((options.features || []).map((f) => [f.name, f.label]));
    // the server computes the features' pictures (options.feature_thumbnails, in this order)
    if (this.thumbsOf !== options) {
      this.thumbsOf = options;
      this.featureThumbs = unpack(options.feature_thumbnails);
    }
    const active = setup.features; // the network's input order
    const sizes = [active.length, ...setup.layers.map((l) => l.units), outputs];
    const rows = Math.max(allFeatures.length, ...sizes);
    const slot = Math.max(17, Math.min(46, rowRoom / rows));
    const hnode = Math.max(12, Math.min(34, slot - 7)); // a hidden neuron's square
    const ncol = setup.layers.length + 2;
    // room for each layer's controls (80 px); past the panel's width the drawing scrolls sideways
    const width = Math.max(360, 100 + (ncol - 1) * 86, this.root.clientWidth || 700);
    const x0 = 58; const xN = width - 40;
    const colX = (c) => (ncol === 1 ? x0 : x0 + ((xN - x0) * c) / (ncol - 1));
    const height = HEAD + rows * slot + 34;
    this.root.style.height = `${height}px`;
    // The seven feature tiles keep a readable size however tall the hidden columns are.
    const fslot = Math.min(46, (rows * slot) / allFeatures.length);
    const fnode = Math.max(hnode, Math.min(34, fslot - 7));
    this.geom = { slot, node: hnode, colX, height, width };
    this.linkStats = null;

    const dpr = window.devicePixelRatio || 1;
    const layer = () => {
      const c = el('canvas', 'links', this.root);
      c.width = Math.round(width * dpr); c.height = Math.round(height * dpr);
      Object.assign(c.style, { width: `${width}px`, height: `${height}px` });
      return c;
    };
    this.linkCanvas = layer(); // links, painted by the worker when there is one
    this.canvas = layer(); // neuron pictures, above the links
    this.dpr = dpr;
    this.linkGeom = null;
    const sv = svg('svg', { width, height, class: 'links' }, this.root);
    const gHits = svg('g', { class: 'hits' }, sv);
    this.svg = sv;

    // Column 0: all seven features; the inactive ones are dimmed and take no links.
    const fx = colX(0);
    const centres = [active.map((f) => HEAD + allFeatures.indexOf(f) * fslot + fslot / 2)];
    this.nodes = [[]]; this.rects = [[]];
    if (!same) {
      this.atlas = null; // all hidden thumbnails, 20 px wide, one under the other
      this.classCanvases = [];
    }
    allFeatures.forEach((name, i) => {
      const y = HEAD + i * fslot + fslot / 2;
      const on = active.includes(name);
      const d = el('div', `node feature${on ? ' on' : ''}`, this.root);
      d.dataset.testid = `feature-${name}`;
      d.dataset.feature = name;
      const label = options.features[i].label; // what the page shows, not the internal name
      d.title = on ? `${label}: click to switch off` : `${label}: click to use as an input`;
      Object.assign(d.style, { left: `${fx - fnode / 2}px`, top: `${y - fnode / 2}px`, width: `${fnode}px`, height: `${fnode}px` });
      const c = el('canvas', '', d);
      drawThumb(c, this.featureThumbs.data, i * THUMB * THUMB, THUMB);
      el('span', 'flabel', d).textContent = label;
      d.addEventListener('click', () => this.hooks.toggleFeature(name));
      this.hoverable(d, () => ({ title: `${label}${on ? '' : ' (not an input now)'}`, canvas: c, sx: 0, sy: 0, sw: THUMB, sh: THUMB }));
      if (on) this.nodes[0].push(d);
    });

    // Hidden columns, then the output column.
    for (let c = 1; c < ncol; c++) {
      const n = sizes[c];
      const x = colX(c);
      const isOut = c === ncol - 1;
      // like the features, the output (1 to 6 nodes) keeps a readable size
      const [cslot, node] = isOut ? [fslot, fnode] : [slot, hnode];
      centres.push([]); this.nodes.push([]); this.rects.push([]);
      for (let u = 0; u < n; u++) {
        const y = HEAD + u * cslot + cslot / 2;
        centres[c].push(y);
        const d = el('div', `node ${isOut ? 'output' : 'neuron'}`, this.root);
        d.dataset.testid = isOut ? `output-${u}` : `node-${c}-${u}`;
        Object.assign(d.style, { left: `${x - node / 2}px`, top: `${y - node / 2}px`, width: `${node}px`, height: `${node}px` });
        if (isOut && outputs > 1) d.style.borderColor = cssClass(u);
        this.nodes[c].push(d);
        const rect = { x: x - node / 2, y: y - node / 2, s: node };
        this.rects[c].push(rect);
        const what = isOut ? (outputs > 1 ? `output, class ${u}` : 'output') : `layer ${c}, neuron ${u + 1}`;
        this.hoverable(d, () => ({ title: what + this.nodeNote(c - 1, u), ...this.source(c, u) }));
        // The bias: a small square at the node's lower left, like the TensorFlow Playground.
        const b = el('div', 'bias', this.root);
        b.dataset.testid = `bias-${c - 1}-${u}`;
        const bs = node >= 20 ? 7 : 5; // the bias square, smaller beside small nodes
        Object.assign(b.style, { left: `${x - node / 2 - bs + 1}px`, top: `${y + node / 2 - bs + 2}px`, width: `${bs}px`, height: `${bs}px` });
        b.addEventListener('click', (e) => {
          e.stopPropagation();
          const v = this.biasValues?.[c - 1]?.[u] ?? 0;
          this.hooks.editBias(c - 1, u, v, `Bias of ${what}`);
        });
        (this.biases[c - 1] ||= [])[u] = b;
      }
    }

    // Links: the canvas paints them; a transparent path per link takes the mouse.
    const hitWidth = Math.max(4, Math.min(10, slot / 3));
    this.links = [];
    this.linkCount = sizes.slice(1).reduce((n, s, c) => n + s * sizes[c], 0);
    // Thousands of links are drawn straight: curves cost the renderer two to three times more.
    const straight = this.linkCount > 2000;
    for (let l = 0; l < ncol - 1; l++) {
      const xa = colX(l) + (l === 0 ? fnode : hnode) / 2;
      const xb = colX(l + 1) - (l === ncol - 2 ? fnode : hnode) / 2;
      const xm = (xa + xb) / 2;
      centres[l].forEach((ya, i) => {
        centres[l + 1].forEach((yb, j) => {
          const d = straight ? `M${xa},${ya}L${xb},${yb}` : `M${xa},${ya}C${xm},${ya} ${xm},${yb} ${xb},${yb}`;
          svg('path', { d, class: 'hit', 'stroke-width': hitWidth, 'data-testid': `link-${l}-${i}-${j}`,
            'data-layer': l, 'data-from': i, 'data-to': j }, gHits);
        });
      });
      this.links.push({ xa, xb, xm, ya: centres[l], yb: centres[l + 1] });
    }
    const { neg, mid, pos } = getPalette(); // a worker has no style sheet to read it from
    this.linkGeom = { width, height, dpr, straight, maxWidth: this.linkCount > 400 ? 2.5 : 5,
      layers: this.links, palette: { neg, mid, pos } };
    this.startLinks();
    gHits.addEventListener('click', (e) => this.linkClick(e));
    gHits.addEventListener('mousemove', (e) => this.linkHover(e));
    gHits.addEventListener('mouseleave', () => this.hooks.linkTip(null));

    // Per-layer controls and gradient norms.
    this.headers = [];
    this.gradLabels = [];
    for (let c = 1; c < ncol; c++) {
      const x = colX(c);
      const g = el('div', 'gradnorm', this.root);
      const bottom = c === ncol - 1 ? sizes[c] * fslot - (fslot - fnode) / 2 : sizes[c] * slot;
      Object.assign(g.style, { left: `${x - 40}px`, top: `${HEAD + bottom + 2}px` });
      g.title = "Norm of this layer's weight gradient";
      g.dataset.testid = `grad-norm-${c - 1}`;
      this.gradLabels.push(g);
      if (c === ncol - 1) {
        const h = el('div', 'layer-head out', this.root,
          `<div class="lname">Output</div><div class="muted">${this.outputText()}</div>`);
        Object.assign(h.style, { left: `${Math.min(x - 60, width - 120)}px` }); // 120 px wide
        continue;
      }
      this.headers.push(this.layerHeader(c - 1, x, options));
    }
    this.updateHeaders(setup, options);
    if (this.doctor) this.diagnose(this.doctor); // the marks and ‖∇‖ labels, on the new nodes
    this.paint();
  }

  /** The height the neurons' rows may take: what the window has below the drawing, 300 to 600 px. */
  rowRoom() {
    const top = this.root.getBoundingClientRect().top + window.scrollY;
    return Math.max(300, Math.min(600, window.innerHeight - top - HEAD - 44));
  }

  /** What the server's output layer is, e.g. "softmax, categorical crossentropy, 3 units". */
  outputText() {
    const { units, activation, loss } = this.output;
    return `${activation}, ${loss.replace(/_/g, ' ')}${units > 1 ? `, ${units} units` : ''}`;
  }

  layerHeader(i, x, options) {
    const h = el('div', 'layer-head', this.root);
    h.dataset.testid = `layer-${i}`;
    Object.assign(h.style, { left: `${x - 40}px` });
    h.innerHTML = `<div class="pm"><button class="round sm" data-testid="layer-${i}-add" title="Add a neuron">+</button>`
      + `<button class="round sm" data-testid="layer-${i}-remove" title="Remove a neuron">&minus;</button></div>`
      + `<div class="lname" data-testid="layer-${i}-units"></div>`
      + `<select data-testid="layer-${i}-activation" title="Activation of this layer"></select>`
      + `<label class="drop" title="Dropout rate of this layer">drop <input data-testid="layer-${i}-dropout" type="number" min="0" max="0.9" step="0.1"></label>`;
    const [add, remove] = h.querySelectorAll('button');
    const sel = h.querySelector('select');
    for (const a of options.activations || []) el('option', '', sel, a).value = a;
    const drop = h.querySelector('input');
    const units = () => this.setup.layers[i].units;
    add.addEventListener('click', () => this.hooks.changeLayer(i, { units: units() + 1 }));
    remove.addEventListener('click', () => this.hooks.changeLayer(i, { units: units() - 1 }));
    sel.addEventListener('change', () => this.hooks.changeLayer(i, { activation: sel.value }));
    drop.addEventListener('change', () => this.hooks.changeLayer(i, { dropout: Number(drop.value) }));
    return { h, sel, drop };
  }

  updateHeaders(setup) {
    this.setup = setup;
    (this.headers || []).forEach(({ h, sel, drop }, i) => {
      const l = setup.layers[i];
      if (!l) return;
      h.querySelector('.lname').textContent = `${l.units} neuron${l.units === 1 ? '' : 's'}`;
      if (![...sel.options].some((o) => o.value === l.activation)) el('option', '', sel, l.activation).value = l.activation;
      sel.value = l.activation;
      if (document.activeElement !== drop) drop.value = l.dropout ?? 0;
    });
  }

  nodeNote(layer, unit) {
    const d = this.doctor;
    if (!d) return '';
    const has = (list) => (list || []).some(([l, u]) => l === layer && u === unit);
    if (has(d.dead)) return ' — dead: never active on the probe batch';
    if (has(d.saturated)) return ' — saturated';
    return '';
  }

  hoverable(d, info) {
    d.addEventListener('mouseenter', (e) => this.hooks.hoverNode(info(), e));
    d.addEventListener('mousemove', (e) => this.hooks.hoverNode(info(), e));
    d.addEventListener('mouseleave', () => this.hooks.hoverNode(null));
  }

  linkTarget(e) {
    const t = e.target;
    if (!t.dataset || t.dataset.layer === undefined) return null;
    return [Number(t.dataset.layer), Number(t.dataset.from), Number(t.dataset.to)];
  }

  linkName(l, i, j) {
    const name = this.setup.features.filter(Boolean)[i];
    const src = l === 0 ? this.labels?.[name] ?? name : `L${l}·${i + 1}`;
    const last = l === this.links.length - 1;
    const dst = last ? (this.outputs > 1 ? `class ${j}` : 'output') : `L${l + 1}·${j + 1}`;
    return `${src} → ${dst}`;
  }

  linkClick(e) {
    const t = this.linkTarget(e);
    if (!t) return;
    const v = this.weights?.[t[0]]?.[t[1]]?.[t[2]] ?? 0;
    this.hooks.editWeight(...t, v, `Weight ${this.linkName(...t)}`);
  }

  linkHover(e) {
    const t = this.linkTarget(e);
    if (!t) return;
    const v = this.weights?.[t[0]]?.[t[1]]?.[t[2]];
    this.hooks.linkTip(`${this.linkName(...t)}: ${v === undefined ? '–' : v.toPrecision(3)}`, e);
  }

  /**
   * Take a frame's parts and paint the network: links, hidden thumbnails, output.
   *
   * @param {object} parts weights, biases (nested lists), neurons (unpacked (units, 20, 20)
   *   arrays, features first), heat (the unpacked heatmap), heatCanvas (the drawn map)
   */
  update(parts) {
    if (parts.weights) {
      this.weights = parts.weights;
      this.biasValues = parts.biases;
      this.sendLinks();
    }
    if (parts.neurons) this.fillAtlas(parts.neurons);
    if (parts.heat) this.fillClasses(parts.heat);
    if (parts.heatCanvas) this.heatCanvas = parts.heatCanvas;
    this.paint();
  }

  paint() {
    if (!this.canvas) return;
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    // The squares are opaque and never move until the next build: no need to clear around them.
    for (let c = 1; c < this.rects.length; c++) {
      this.rects[c].forEach((r, u) => {
        const src = this.source(c, u);
        ctx.imageSmoothingEnabled = r.s * this.dpr >= THUMB || c === this.rects.length - 1;
        if (src.canvas) ctx.drawImage(src.canvas, src.sx, src.sy, src.sw, src.sh, r.x, r.y, r.s, r.s);
        else { ctx.fillStyle = color('panel'); ctx.fillRect(r.x, r.y, r.s, r.s); }
      });
    }
    this.biases.forEach((col, l) => {
      const b = this.biasValues?.[l];
      if (!b || !col) return;
      col.forEach((sq, u) => {
        const c = cssDiverging(b[u]);
        if (sq._c !== c) { sq.style.background = c; sq._c = c; }
      });
    });
  }

  /** Hand the new link canvas to the worker (started once), or paint here without one. */
  startLinks() {
    if (!this.worker && typeof OffscreenCanvas !== 'undefined' && this.linkCanvas.transferControlToOffscreen) {
      try {
        this.worker = new Worker(new URL('./linkworker.js', import.meta.url), { type: 'module' });
        this.worker.onmessage = (e) => { this.linkStats = e.data; };
      } catch { this.worker = null; }
    }
    if (this.worker) {
      const canvas = this.linkCanvas.transferControlToOffscreen();
      this.worker.postMessage({ canvas, geom: this.linkGeom }, [canvas]);
    }
    this.sendLinks();
  }

  sendLinks() {
    if (!this.weights || !this.linkGeom) return;
    const kernels = flatKernels(this.weights);
    if (this.worker) this.worker.postMessage({ kernels }, kernels.map((k) => k.data.buffer));
    else paintLinks(this.linkCanvas.getContext('2d'), this.linkGeom, kernels);
  }

  /** Where node (column c, unit u)'s picture is: a region of some canvas. */
  source(c, u) {
    const last = c === this.rects.length - 1;
    if (last && this.rects[c].length === 1) {
      const h = this.heatCanvas;
      return h ? { canvas: h, sx: 0, sy: 0, sw: h.width, sh: h.height } : {};
    }
    if (last) {
      const cv = this.classCanvases[u];
      return cv ? { canvas: cv, sx: 0, sy: 0, sw: cv.width, sh: cv.height } : {};
    }
    const row = this.atlasRows?.[c]?.[u];
    return row === undefined || !this.atlas ? {} : { canvas: this.atlas, sx: 0, sy: row * THUMB, sw: THUMB, sh: THUMB };
  }

  /** Put every hidden neuron's (20, 20) thumbnail into one offscreen canvas, in one write. */
  fillAtlas(neurons) {
    const total = this.rects.slice(1, -1).reduce((n, col) => n + col.length, 0);
    if (!total) return;
    if (!this.atlas || this.atlas.height !== total * THUMB) {
      this.atlas = document.createElement('canvas');
      this.atlas.width = THUMB; this.atlas.height = total * THUMB;
      this.atlasImage = this.atlas.getContext('2d').createImageData(THUMB, total * THUMB);
    }
    const rgba = this.atlasImage.data;
    const per = THUMB * THUMB;
    this.atlasRows = [];
    let row = 0;
    for (let c = 1; c < this.rects.length - 1; c++) {
      const arr = neurons[c];
      this.atlasRows[c] = [];
      for (let u = 0; u < this.rects[c].length; u++, row++) {
        this.atlasRows[c][u] = row;
        if (!arr || !arr.data || (u + 1) * per > arr.data.length) continue;
        const o = row * per * 4;
        for (let i = 0; i < per; i++) putDiverging(rgba, o + i * 4, arr.data[u * per + i]);
      }
    }
    this.atlas.getContext('2d').putImageData(this.atlasImage, 0, 0);
  }

  /** For k classes: each class's probability, white (0) to the class colour (1), one canvas each. */
  fillClasses(heat) {
    const [h, w, k] = heat.shape;
    if (!k || k < 2) { this.classCanvases = []; return; }
    for (let c = 0; c < k; c++) {
      let cv = this.classCanvases[c];
      if (!cv || cv.width !== w || cv.height !== h) {
        cv = this.classCanvases[c] = document.createElement('canvas');
        cv.width = w; cv.height = h;
        cv._img = cv.getContext('2d').createImageData(w, h);
      }
      const img = cv._img;
      const col = classRgb(c);
      for (let i = 0; i < w * h; i++) {
        const p = heat.data[i * k + c];
        for (let ch = 0; ch < 3; ch++) img.data[i * 4 + ch] = 255 + (col[ch] - 255) * p;
        img.data[i * 4 + 3] = 255;
      }
      cv.getContext('2d').putImageData(img, 0, 0);
    }
  }

  /** Mark dead and saturated neurons and show each layer's gradient norm (DOM writes only on change). */
  diagnose(doctor) {
    this.doctor = doctor;
    const key = JSON.stringify([doctor?.dead, doctor?.saturated, this.key]);
    if (key !== this.marks) {
      this.marks = key;
      for (let c = 1; c < this.nodes.length; c++) {
        for (const d of this.nodes[c]) d.classList.remove('dead', 'saturated');
      }
      for (const [kind, list] of [['dead', doctor?.dead], ['saturated', doctor?.saturated]]) {
        for (const [l, u] of list || []) this.nodes[l + 1]?.[u]?.classList.add(kind);
      }
    }
    // null before the first step: the network has no gradient yet, which is not a zero one
    (doctor?.grad_norms || []).forEach((g, i) => {
      const lab = this.gradLabels[i];
      const text = g === null || g === undefined ? '‖∇‖ –' : `‖∇‖ ${Number(g).toExponential(1)}`;
      if (lab && lab.textContent !== text) lab.textContent = text;
    });
  }
}
