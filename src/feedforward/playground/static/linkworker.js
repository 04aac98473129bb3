// A worker that paints the links on the canvas the page handed over: stroking thousands of curves
// takes the software renderer tens of milliseconds, which would otherwise stall every frame.
// It paints the newest weights and skips those that arrived while it was busy or resting. It rests
// three times as long as a paint took, and paints a big network's links (which change little from
// one frame to the next) at most 3 times a second: it shares the machine's cores with the page
// and the training server, and on a loaded 2-core machine 8 paints a second drew fewer frames
// (benchmarks/playground_fps.py --link-rates 3,8).

import { paintLinks } from './linkpaint.js';

const BIG_PAINTS_PER_S = 3; // the most paints a second of a big network's links
const BIG = 2000; // links: a network with more is big

let ctx = null;
let geom = null;
let kernels = null;
let timer = null;
let readyAt = 0;
let painted = 0;

function paint() {
  timer = null;
  if (!ctx || !geom || !kernels) return;
  const t0 = performance.now();
  paintLinks(ctx, geom, kernels);
  ctx.getImageData(0, 0, 1, 1); // rasterize now, so that `took` is the paint's real cost
  const took = performance.now() - t0;
  const big = geom.layers.reduce((n, g) => n + g.ya.length * g.yb.length, 0) > BIG;
  readyAt = performance.now() + Math.max(3 * took, big ? 1000 / BIG_PAINTS_PER_S : 0);
  painted++;
  self.postMessage({ painted, ms: took });
}

self.onmessage = (e) => {
  const m = e.data;
  if (m.canvas) { ctx = m.canvas.getContext('2d'); kernels = null; readyAt = 0; }
  if (m.geom) geom = m.geom;
  if (m.kernels) kernels = m.kernels;
  if (timer === null) timer = setTimeout(paint, Math.max(0, readyAt - performance.now()));
};
