// Painting the network's links on a 2D canvas context: shared by the page and its link worker.

const COLOUR_STEPS = 32;
const WIDTH_STEPS = 12;
const scales = new Map(); // palette -> its colours, computed once

/**
 * The diverging scale in COLOUR_STEPS CSS colours, from the page's palette {neg, mid, pos}
 * (colors.js reads it from the style sheet; a worker has none, so the page sends it).
 */
function colours({ neg, mid, pos }) {
  const key = JSON.stringify([neg, mid, pos]);
  if (!scales.has(key)) {
    scales.set(key, Array.from({ length: COLOUR_STEPS }, (_, i) => {
      const t = ((i + 0.5) / COLOUR_STEPS) * 2 - 1;
      const end = t < 0 ? neg : pos;
      const f = Math.abs(t);
      const c = mid.map((m, k) => Math.round(m + (end[k] - m) * f));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }));
  }
  return scales.get(key);
}

/**
 * Stroke every link as a cubic curve (a straight line with `geom.straight`), coloured by the
 * weight's sign and size and as wide as its size. Links of equal colour and width share one
 * stroke call.
 *
 * @param {CanvasRenderingContext2D} ctx
 * @param {object} geom {width, height, dpr, maxWidth, straight, palette: {neg, mid, pos},
 *   layers: [{xa, xb, xm, ya: [..], yb: [..]}]}
 * @param {Array} kernels per dense layer {rows, cols, data: Float32Array (rows * cols)}
 */
export function paintLinks(ctx, geom, kernels) {
  ctx.setTransform(geom.dpr, 0, 0, geom.dpr, 0, 0);
  ctx.clearRect(0, 0, geom.width, geom.height);
  const buckets = new Map();
  geom.layers.forEach((g, l) => {
    const k = kernels[l];
    if (!k || k.rows !== g.ya.length || k.cols !== g.yb.length) return;
    for (let n = 0; n < k.data.length; n++) {
      const w = k.data[n];
      if (w !== w) continue;
      const c = Math.min(COLOUR_STEPS - 1, Math.floor(((Math.max(-1, Math.min(1, w)) + 1) / 2) * COLOUR_STEPS));
      const s = Math.round((Math.min(Math.abs(w), 3) / 3) * WIDTH_STEPS);
      const key = s * COLOUR_STEPS + c; // thin buckets first: strong links end on top
      let list = buckets.get(key);
      if (!list) buckets.set(key, (list = []));
      list.push(l, n);
    }
  });
  const scale = colours(geom.palette);
  ctx.globalAlpha = 0.85;
  for (const key of [...buckets.keys()].sort((a, b) => a - b)) {
    const list = buckets.get(key);
    const s = Math.floor(key / COLOUR_STEPS);
    ctx.strokeStyle = scale[key - s * COLOUR_STEPS];
    ctx.lineWidth = 0.5 + (s / WIDTH_STEPS) * geom.maxWidth;
    ctx.beginPath();
    for (let n = 0; n < list.length; n += 2) {
      const g = geom.layers[list[n]];
      const cols = g.yb.length;
      const ya = g.ya[Math.floor(list[n + 1] / cols)];
      const yb = g.yb[list[n + 1] % cols];
      ctx.moveTo(g.xa, ya);
      if (geom.straight) ctx.lineTo(g.xb, yb);
      else ctx.bezierCurveTo(g.xm, ya, g.xm, yb, g.xb, yb);
    }
    ctx.stroke();
  }
  ctx.globalAlpha = 1;
}

/** Kernels as flat float32 arrays, from a frame's nested lists. */
export function flatKernels(weights) {
  return weights.map((rows) => {
    const r = rows.length; const c = r ? rows[0].length : 0;
    const data = new Float32Array(r * c);
    for (let i = 0; i < r; i++) data.set(rows[i], i * c);
    return { rows: r, cols: c, data };
  });
}
