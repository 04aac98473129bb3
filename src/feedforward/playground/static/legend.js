// What the output map's colours and position mean: the colour legend under the map (class
// probability, or the regression scale the colours saturate at), and the ticks of both axes.

import { putDiverging, putClasses } from './colors.js';
import * as heatmap from './heatmap.js';

// the map's own regression bands, so that the legend's bands are the map's
const band = (x) => (heatmap.band ? heatmap.band(x) : x);

const STEPS = 120; // the legend's colour bar, in columns

/** A number for a tick: short, without trailing zeros (9, 0.5, -2.25, 1.2e+3). */
export function tickText(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1000 || a < 0.01 ? v.toExponential(1) : String(Number(v.toPrecision(3)));
}

function bar(colour) {
  const c = document.createElement('canvas');
  c.width = STEPS; c.height = 1;
  c.className = 'bar';
  const ctx = c.getContext('2d');
  const img = ctx.createImageData(STEPS, 1);
  for (let i = 0; i < STEPS; i++) colour(img.data, i * 4, i / (STEPS - 1));
  ctx.putImageData(img, 0, 0);
  return c;
}

function row(box, caption, canvas, ticks, compact = false) {
  const r = document.createElement('div');
  r.className = compact ? 'legend-row compact' : 'legend-row';
  const cap = document.createElement('div');
  cap.className = 'legend-caption';
  cap.textContent = caption;
  const scale = document.createElement('div');
  scale.className = 'legend-ticks';
  for (const t of ticks) scale.appendChild(document.createElement('span')).textContent = t;
  r.append(cap, canvas, scale);
  box.appendChild(r);
}

/**
 * Fill the legend for what the map shows.
 *
 * @param {HTMLElement} box the legend's container
 * @param {object} what problem ('classification' | 'regression'), units (the output layer's:
 *   1 for a binary classifier or a regression, k for k classes), scale (regression: the value
 *   the colours saturate at, the largest |target|), discretize
 */
export function drawLegend(box, { problem, units, scale, discretize }) {
  const key = JSON.stringify([problem, units, scale, discretize]);
  if (box.dataset.key === key || !units) return;
  box.dataset.key = key;
  box.textContent = '';
  if (problem === 'regression') {
    const colour = (rgba, o, t) => putDiverging(rgba, o, discretize ? band(2 * t - 1) : 2 * t - 1);
    row(box, `Output (the colours saturate at ±${tickText(scale)}, the largest |target|)`, bar(colour),
      [-scale, -scale / 2, 0, scale / 2, scale].map(tickText));
  } else if (units === 1) {
    const colour = (rgba, o, t) => putDiverging(rgba, o, discretize ? (t >= 0.5 ? 1 : -1) : 2 * t - 1);
    row(box, 'Probability of class 1 (class 0 below 0.5)', bar(colour), ['0', '0.25', '0.5', '0.75', '1']);
  } else {
    // each class's colour, from an even draw (1/k) to certain (1), as putClasses paints them
    const k = units;
    for (let c = 0; c < k; c++) {
      const probs = new Float32Array(k);
      const colour = (rgba, o, t) => {
        const p = 1 / k + t * (1 - 1 / k);
        probs.fill((1 - p) / (k - 1));
        probs[c] = p;
        putClasses(rgba, o, probs, 0, k, discretize);
      };
      row(box, `class ${c}`, bar(colour), c === k - 1 ? [tickText(1 / k), '1'] : [], true);
    }
    const note = document.createElement('div');
    note.className = 'legend-caption';
    note.textContent = 'Colour: the likeliest class; strength: its probability.';
    box.appendChild(note);
  }
}

/** Ticks on both axes of the map: the domain's ends, its quarters and zero. */
export function drawAxes(xBox, yBox, [lo, hi]) {
  const key = `${lo},${hi}`;
  if (xBox.dataset.key === key) return;
  xBox.dataset.key = key;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  for (const [box, values] of [[xBox, ticks], [yBox, [...ticks].reverse()]]) {
    box.textContent = '';
    for (const v of values) box.appendChild(document.createElement('span')).textContent = tickText(v);
  }
}
