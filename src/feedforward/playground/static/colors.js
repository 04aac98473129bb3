// Colour scales shared by the output map, the thumbnails and the links.
// Negative values are orange, positive blue, zero a light grey (the TensorFlow Playground's scale).

const NEG = [245, 147, 34];
const MID = [232, 234, 235];
const POS = [8, 119, 189];

/** Class colours: class 0 orange, class 1 blue (as in the binary scale), then four more. */
export const CLASS_COLORS = [
  [245, 147, 34], [8, 119, 189], [44, 160, 44], [148, 103, 189], [214, 39, 40], [140, 86, 75],
];

// A 256-entry lookup table over [-1, 1], so a 100 x 100 map costs no per-pixel interpolation.
export const LUT = new Uint8ClampedArray(256 * 3);
for (let i = 0; i < 256; i++) {
  const t = i / 255 * 2 - 1;
  const [a, b, f] = t < 0 ? [MID, NEG, -t] : [MID, POS, t];
  for (let c = 0; c < 3; c++) LUT[i * 3 + c] = a[c] + (b[c] - a[c]) * f;
}

/** Index into the lookup table for a value, clamped to [-1, 1]. */
export function lutIndex(v) {
  if (!(v > -1)) return v === v ? 0 : 127; // NaN draws as the middle grey
  if (v >= 1) return 255;
  return ((v + 1) * 127.5) | 0;
}

/** Write the diverging colour of v into rgba at byte offset o. */
export function putDiverging(rgba, o, v) {
  const i = lutIndex(v) * 3;
  rgba[o] = LUT[i]; rgba[o + 1] = LUT[i + 1]; rgba[o + 2] = LUT[i + 2]; rgba[o + 3] = 255;
}

/** CSS colour for a value in [-1, 1]. */
export function cssDiverging(v) {
  const i = lutIndex(v) * 3;
  return `rgb(${LUT[i]},${LUT[i + 1]},${LUT[i + 2]})`;
}

/** CSS colour of class k. */
export function cssClass(k) {
  const c = CLASS_COLORS[k % CLASS_COLORS.length];
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * Write the colour of a probability row into rgba at o: the winning class's colour, faded towards
 * white as the winner's lead shrinks. With `discrete` the winner is drawn at full strength.
 */
export function putClasses(rgba, o, probs, base, k, discrete) {
  let best = 0;
  for (let c = 1; c < k; c++) if (probs[base + c] > probs[base + best]) best = c;
  const p = probs[base + best];
  const f = discrete ? 0.85 : Math.max(0, Math.min(1, (p - 1 / k) / (1 - 1 / k))) * 0.85;
  const col = CLASS_COLORS[best % CLASS_COLORS.length];
  for (let c = 0; c < 3; c++) rgba[o + c] = MID[c] + (col[c] - MID[c]) * f;
  rgba[o + 3] = 255;
}
