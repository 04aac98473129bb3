// The page's colours. Every one is a CSS variable of style.css (`:root`), the one place they are
// written; this module reads them (on first use, once the style sheet applies) for the drawing
// code. Negative values are orange, positive blue, zero a light grey (the TensorFlow Playground's
// scale); class 0 is orange and class 1 blue, as in the binary scale.

const probe = document.createElement('canvas').getContext('2d');

const read = new Map(); // the style sheet does not change: each variable is read once

/** The value of the CSS variable `--name` on the page's root, e.g. `color('negative')`. */
export function color(name) {
  if (!read.has(name)) {
    read.set(name, getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim());
  }
  return read.get(name);
}

/** A CSS colour as [r, g, b], each 0 to 255 (the canvas parses it as CSS does). */
export function rgb(css) {
  if (!css) throw new Error('colors: a palette colour is missing from style.css');
  probe.fillStyle = 'transparent';
  probe.fillStyle = css;
  const c = probe.fillStyle; // '#rrggbb', or 'rgba(r, g, b, a)' for a translucent colour
  if (c[0] === '#') return c.slice(1).match(/../g).map((h) => parseInt(h, 16));
  return c.match(/[\d.]+/g).slice(0, 3).map(Number);
}

let palette = null;

/**
 * The data colours as [r, g, b]: `neg`, `mid` and `pos` of the diverging scale, `classes` (one
 * per `--class-k`), and `lut`, the diverging scale in 256 steps over [-1, 1] (a 100 x 100 map
 * then costs no per-pixel interpolation).
 */
export function getPalette() {
  if (palette) return palette;
  const [neg, mid, pos] = ['negative', 'neutral', 'positive'].map((n) => rgb(color(n)));
  const classes = [];
  for (let k = 0; color(`class-${k}`); k++) classes.push(rgb(color(`class-${k}`)));
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * 2 - 1;
    const [a, b, f] = t < 0 ? [mid, neg, -t] : [mid, pos, t];
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = a[c] + (b[c] - a[c]) * f;
  }
  palette = { neg, mid, pos, classes, lut };
  return palette;
}

/** Index into the lookup table for a value, clamped to [-1, 1]. */
export function lutIndex(v) {
  if (!(v > -1)) return v === v ? 0 : 127; // NaN draws as the middle grey
  if (v >= 1) return 255;
  return ((v + 1) * 127.5) | 0;
}

/** Write the diverging colour of v into rgba at byte offset o. */
export function putDiverging(rgba, o, v) {
  const lut = (palette || getPalette()).lut;
  const i = lutIndex(v) * 3;
  rgba[o] = lut[i]; rgba[o + 1] = lut[i + 1]; rgba[o + 2] = lut[i + 2]; rgba[o + 3] = 255;
}

/** CSS colour for a value in [-1, 1]. */
export function cssDiverging(v) {
  const lut = getPalette().lut;
  const i = lutIndex(v) * 3;
  return `rgb(${lut[i]},${lut[i + 1]},${lut[i + 2]})`;
}

/** Class k's colour as [r, g, b]. */
export function classRgb(k) {
  const { classes } = getPalette();
  return classes[k % classes.length];
}

/** CSS colour of class k. */
export function cssClass(k) {
  const c = classRgb(k);
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Write the colour of a probability row into rgba at o: the winning class's colour, faded towards
 * the neutral grey as the winner's lead shrinks. With `discrete` the winner is drawn at full
 * strength.
 */
export function putClasses(rgba, o, probs, base, k, discrete) {
  const { mid } = palette || getPalette();
  let best = 0;
  for (let c = 1; c < k; c++) if (probs[base + c] > probs[base + best]) best = c;
  const p = probs[base + best];
  const f = discrete ? 0.85 : Math.max(0, Math.min(1, (p - 1 / k) / (1 - 1 / k))) * 0.85;
  const col = classRgb(best);
  for (let c = 0; c < 3; c++) rgba[o + c] = mid[c] + (col[c] - mid[c]) * f;
  rgba[o + 3] = 255;
}
