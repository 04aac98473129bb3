// The loss chart: training, validation and test loss per epoch, with axes, a log-scale toggle
// and the values under the mouse.

import { color } from './colors.js';

const SERIES = ['train', 'val', 'test']; // each drawn in its style sheet colour, --series-<name>
const M = { l: 40, r: 8, t: 8, b: 18 };

function niceTicks(lo, hi, n) {
  const span = hi - lo || 1;
  const step0 = span / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= step0);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(v);
  return out;
}

/** Ticks of a log axis (as log10 values): decades, or 1-2-5 steps when the range is short. */
function logTicks(lo, hi) {
  const out = [];
  const steps = hi - lo < 1.2 ? [1, 2, 5] : hi - lo < 2.5 ? [1, 3] : [1];
  for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
    for (const m of steps) {
      const t = d + Math.log10(m);
      if (t >= lo && t <= hi) out.push(t);
    }
  }
  return out.length > 6 ? out.filter((t) => Number.isInteger(Math.round(t * 1e9) / 1e9)) : out;
}

function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(1);
  return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

export class LossChart {
  constructor(canvas, tip) {
    this.canvas = canvas;
    this.tip = tip;
    this.log = false;
    this.size = null;
    new ResizeObserver(() => { this.size = null; this.draw(); }).observe(canvas);
    this.clear();
    canvas.addEventListener('mousemove', (e) => this.hover(e));
    canvas.addEventListener('mouseleave', () => { this.hoverIndex = null; this.legend(); this.draw(); });
  }

  clear() {
    this.h = { epoch: [], train: [], val: [], test: [] };
    this.hoverIndex = null;
    this.legend();
  }

  /** The line under the chart: the series' names in their colours (values while hovering). */
  legend() {
    this.tip.textContent = '';
    for (const key of SERIES) {
      if (key === 'val' && !this.h.val.some((v) => v !== null)) continue;
      const span = document.createElement('span');
      span.style.color = `var(--series-${key})`;
      span.textContent = `■ ${key} loss`;
      this.tip.appendChild(span);
    }
  }

  get last() { const e = this.h.epoch; return e.length ? e[e.length - 1] : -Infinity; }

  /** Append a frame's new history points; a restart (epoch going back) clears the chart first. */
  add(hist) {
    if (!hist || !hist.epoch || !hist.epoch.length) return;
    if (hist.epoch[0] <= this.last) this.clear();
    const hadVal = this.h.val.some((v) => v !== null);
    for (const key of ['epoch', 'train', 'val', 'test']) {
      const src = hist[key] || [];
      for (let i = 0; i < hist.epoch.length; i++) this.h[key].push(src[i] ?? null);
    }
    if (!hadVal && this.hoverIndex === null && this.h.val.some((v) => v !== null)) this.legend();
  }

  y(v) { return this.log ? Math.log10(Math.max(v, 1e-12)) : v; }

  layout() {
    // The size is read only when the canvas is resized: reading clientWidth every frame would
    // force the browser to lay out the whole page (thousands of links) each time.
    if (!this.size) this.size = { w: this.canvas.clientWidth || 300, hgt: this.canvas.clientHeight || 110 };
    const dpr = window.devicePixelRatio || 1;
    const { w, hgt } = this.size;
    if (this.canvas.width !== Math.round(w * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
    }
    return { dpr, w, hgt };
  }

  range() {
    const { epoch } = this.h;
    let lo = Infinity; let hi = -Infinity;
    for (const key of SERIES) {
      for (const v of this.h[key]) {
        if (v === null || !Number.isFinite(v)) continue;
        const y = this.y(v);
        if (y < lo) lo = y;
        if (y > hi) hi = y;
      }
    }
    if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
    if (!this.log) lo = Math.min(0, lo);
    if (hi - lo < 1e-9) hi = lo + (this.log ? 1 : 0.1);
    return { x0: epoch[0] ?? 0, x1: Math.max(epoch[epoch.length - 1] ?? 1, (epoch[0] ?? 0) + 1), lo, hi };
  }

  draw() {
    const { dpr, w, hgt } = this.layout();
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const r = this.range();
    const pw = w - M.l - M.r; const ph = hgt - M.t - M.b;
    const X = (e) => M.l + ((e - r.x0) / (r.x1 - r.x0)) * pw;
    const Y = (v) => M.t + (1 - (this.y(v) - r.lo) / (r.hi - r.lo)) * ph;
    this.X = X; this.pw = pw;
    ctx.font = '10px system-ui, sans-serif';
    ctx.fillStyle = color('chart-text'); ctx.strokeStyle = color('chart-grid'); ctx.lineWidth = 1;
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    for (const t of this.log ? logTicks(r.lo, r.hi) : niceTicks(r.lo, r.hi, 3)) {
      const py = M.t + (1 - (t - r.lo) / (r.hi - r.lo)) * ph;
      ctx.beginPath(); ctx.moveTo(M.l, py); ctx.lineTo(M.l + pw, py); ctx.stroke();
      ctx.fillText(String(Number((this.log ? 10 ** t : t).toPrecision(this.log ? 2 : 6))), M.l - 4, py);
    }
    ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const xt = [...new Set(niceTicks(r.x0, r.x1, 4).map(Math.round))];
    for (const t of xt) {
      if (t < r.x0 || t > r.x1) continue;
      ctx.fillText(String(Math.round(t)), X(t), M.t + ph + 3);
    }
    ctx.strokeStyle = color('chart-axis');
    ctx.beginPath(); ctx.moveTo(M.l, M.t); ctx.lineTo(M.l, M.t + ph); ctx.lineTo(M.l + pw, M.t + ph); ctx.stroke();
    const n = this.h.epoch.length;
    // At most about two points per pixel: long runs stay cheap to redraw every frame.
    const stride = Math.max(1, Math.floor(n / (pw * 2)));
    const idx = [];
    for (let i = 0; i < n; i += stride) idx.push(i);
    if (n && idx[idx.length - 1] !== n - 1) idx.push(n - 1);
    for (const key of SERIES) {
      const vals = this.h[key];
      ctx.strokeStyle = color(`series-${key}`); ctx.lineWidth = 1.5; ctx.beginPath();
      let pen = false;
      for (const i of idx) {
        const v = vals[i];
        if (v === null || !Number.isFinite(v)) { pen = false; continue; }
        const px = X(this.h.epoch[i]); const py = Y(v);
        if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
        pen = true;
      }
      ctx.stroke();
    }
    if (this.hoverIndex !== null && this.hoverIndex < n) {
      const px = X(this.h.epoch[this.hoverIndex]);
      ctx.strokeStyle = color('chart-cursor');
      ctx.beginPath(); ctx.moveTo(px, M.t); ctx.lineTo(px, M.t + ph); ctx.stroke();
    }
  }

  hover(e) {
    const n = this.h.epoch.length;
    if (!n || !this.X) return;
    const rect = this.canvas.getBoundingClientRect();
    const mx = e.clientX - rect.left;
    const r = this.range();
    const target = r.x0 + ((mx - M.l) / this.pw) * (r.x1 - r.x0);
    let lo = 0; let hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.h.epoch[mid] < target) lo = mid + 1; else hi = mid; }
    const i = lo > 0 && Math.abs(this.h.epoch[lo - 1] - target) < Math.abs(this.h.epoch[lo] - target) ? lo - 1 : lo;
    this.hoverIndex = i;
    const parts = [`epoch ${this.h.epoch[i]}`];
    for (const key of SERIES) if (this.h[key][i] !== null) parts.push(`${key} ${fmt(this.h[key][i])}`);
    this.tip.textContent = parts.join(' · ');
    this.draw();
  }
}

export { fmt };
