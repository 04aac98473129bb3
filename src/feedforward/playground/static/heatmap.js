// The output map over the input square (a canvas of grid x grid pixels, scaled by CSS) and the data
// points drawn on a second canvas above it.

import { putDiverging, putClasses, cssClass, cssDiverging, color } from './colors.js';

/** Discretized, a regression map shows this many bands of equal width over [-scale, scale]. */
export const REGRESSION_BANDS = 10;

/** x in [-1, 1] moved to the middle of its band among `bands` equal bands (ends included). */
export function band(x, bands = REGRESSION_BANDS) {
  const i = Math.min(bands - 1, Math.max(0, Math.floor(((x + 1) / 2) * bands)));
  return ((i + 0.5) / bands) * 2 - 1;
}

export class Heatmap {
  constructor(mapCanvas, pointCanvas) {
    this.domain = null; // the input square [lo, hi]: the server's options.domain
    this.map = mapCanvas;
    this.pts = pointCanvas;
    this.ctx = mapCanvas.getContext('2d');
    this.image = null;
    this.scale = 1; // regression: the largest |target|, so the colours span the data
  }

  /**
   * Draw a packed heatmap: (grid, grid) values in [-1, 1] (binary: 2p - 1; regression: the
   * output, over ±scale), or (grid, grid, k) class probabilities. Row 0 is x2 = +6, column 0
   * is x1 = -6. Discretized: two colours (binary), the likeliest class, or REGRESSION_BANDS bands.
   */
  draw(heat, { discretize = false, problem = 'classification' } = {}) {
    const [h, w, k = 1] = heat.shape;
    if (this.map.width !== w || this.map.height !== h) {
      this.map.width = w; this.map.height = h; this.image = null;
    }
    if (!this.image) this.image = this.ctx.createImageData(w, h);
    const rgba = this.image.data;
    const v = heat.data;
    const n = w * h;
    if (k > 1) {
      for (let i = 0; i < n; i++) putClasses(rgba, i * 4, v, i * k, k, discretize);
    } else if (problem === 'regression') {
      const s = 1 / this.scale;
      if (discretize) for (let i = 0; i < n; i++) putDiverging(rgba, i * 4, band(v[i] * s));
      else for (let i = 0; i < n; i++) putDiverging(rgba, i * 4, v[i] * s);
    } else {
      for (let i = 0; i < n; i++) {
        const x = discretize ? (v[i] >= 0 ? 1 : -1) : v[i];
        putDiverging(rgba, i * 4, x);
      }
    }
    this.ctx.putImageData(this.image, 0, 0);
  }

  /** Canvas pixel of a data point (x1, x2) on the points canvas. */
  toPixel(x1, x2) {
    return toPixel(this.domain, this.pts.width, x1, x2);
  }

  /** Data coordinates (x1, x2) of a mouse event on the map. */
  toData(event) {
    const r = this.pts.getBoundingClientRect();
    const [lo, hi] = this.domain;
    const x1 = lo + ((event.clientX - r.left) / r.width) * (hi - lo);
    const x2 = hi - ((event.clientY - r.top) / r.height) * (hi - lo);
    return [x1, x2];
  }

  /**
   * Draw the points: training filled with a white ring, validation grey ring, test black ring;
   * `highlight` points (the inspected batch) get a dark outer ring.
   */
  drawPoints(data, { showTest = false, problem = 'classification', highlight = null } = {}) {
    const ctx = this.pts.getContext('2d');
    ctx.clearRect(0, 0, this.pts.width, this.pts.height);
    if (!data) return;
    if (problem === 'regression') {
      let m = 0;
      for (const part of ['train', 'val', 'test']) for (const p of data[part] || []) m = Math.max(m, Math.abs(p[2]));
      this.scale = m > 0 ? m : 1;
    }
    const colour = problem === 'regression'
      ? (y) => cssDiverging(y / this.scale)
      : (y) => cssClass(y < 0.5 ? 0 : Math.round(y));
    const groups = [['train', color('ring-train'), 1], ['val', color('ring-val'), 1.5]];
    if (showTest) groups.push(['test', color('ring-test'), 1.5]);
    for (const [part, ring, lw] of groups) {
      ctx.lineWidth = lw;
      ctx.strokeStyle = ring;
      for (const [x1, x2, y] of data[part] || []) {
        const [px, py] = this.toPixel(x1, x2);
        ctx.beginPath();
        ctx.arc(px, py, 3.2, 0, 2 * Math.PI);
        ctx.fillStyle = colour(y);
        ctx.fill();
        ctx.stroke();
      }
    }
    ctx.strokeStyle = color('ring-inspected');
    ctx.lineWidth = 1.5;
    for (const [x1, x2] of highlight || []) {
      const [px, py] = this.toPixel(x1, x2);
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }
}

/** Paint a size x size slice (from `offset`) of values in [-1, 1] into a small canvas. */
export function drawThumb(canvas, data, offset, size) {
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(size, size);
  const n = size * size;
  for (let i = 0; i < n; i++) putDiverging(img.data, i * 4, data[offset + i]);
  ctx.putImageData(img, 0, 0);
}

/** Pixel (px, py) of the point (x1, x2) on a square canvas `size` wide over the square `domain`. */
export function toPixel([lo, hi], size, x1, x2) {
  const s = size / (hi - lo);
  return [(x1 - lo) * s, (hi - x2) * s];
}
