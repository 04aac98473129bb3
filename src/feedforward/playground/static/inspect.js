// The step-by-step view: one batch's forward values (z, a) and backward gradients per dense layer,
// each matrix drawn as coloured cells (hover a cell for its value).

import { cssDiverging } from './colors.js';

const MAX_ROWS = 8;

function matrix(title, m, note) {
  const rows = Array.isArray(m?.[0]) ? m : [m || []];
  const shown = rows.slice(0, MAX_ROWS);
  let scale = 0;
  for (const r of shown) for (const v of r) scale = Math.max(scale, Math.abs(v));
  const wrap = document.createElement('div');
  wrap.className = 'mat';
  const cap = document.createElement('div');
  cap.className = 'mat-title';
  cap.textContent = `${title} ${rows.length}×${rows[0]?.length ?? 0}${rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} rows)` : ''}`;
  if (note) cap.title = note;
  const table = document.createElement('table');
  const numbers = (rows[0]?.length ?? 0) <= 4;
  for (const r of shown) {
    const tr = table.insertRow();
    for (const v of r) {
      const td = tr.insertCell();
      const t = scale ? v / scale : 0;
      td.style.background = cssDiverging(t);
      if (Math.abs(t) > 0.55) td.className = 'strong';
      td.title = String(v);
      if (numbers) td.textContent = Math.abs(v) >= 100 ? v.toExponential(0) : v.toFixed(2);
    }
  }
  wrap.append(cap, table);
  return wrap;
}

/** Render an `inspect` message into the container. */
export function renderInspect(box, msg) {
  box.textContent = '';
  const note = document.createElement('div');
  note.className = 'hint';
  note.textContent = 'Forward: z = a·W + b, a = f(z), layer by layer. Backward (chain rule): '
    + '∂L/∂z = f′(z) ⊙ (∂L/∂z of the next layer · Wᵀ), ∂L/∂W = aᵀ·∂L/∂z, ∂L/∂b = Σ ∂L/∂z. '
    + 'Orange is negative, blue positive; hover a cell for its value. '
    + 'The batch\'s points are ringed on the output map.';
  box.appendChild(note);
  const head = document.createElement('div');
  head.className = 'inspect-row';
  head.append(matrix('batch x', msg.batch?.x, 'the inputs of one batch'),
    matrix('batch y', (msg.batch?.y || []).map((v) => (Array.isArray(v) ? v : [v])), 'the targets'));
  box.appendChild(head);
  (msg.layers || []).forEach((l, i) => {
    const last = i === msg.layers.length - 1;
    const sec = document.createElement('div');
    sec.className = 'inspect-layer';
    sec.dataset.testid = `inspect-layer-${i}`;
    const h = document.createElement('div');
    h.className = 'inspect-name';
    h.textContent = last ? `Output layer (dense ${i})` : `Hidden layer ${i + 1} (dense ${i})`;
    const row = document.createElement('div');
    row.className = 'inspect-row';
    row.append(
      matrix('z = a·W + b', l.z, 'pre-activation'),
      matrix('a = f(z)', l.a, 'activation'),
      matrix('∂L/∂z', l.grad_z, 'gradient of the loss with respect to z'),
      matrix('∂L/∂W', l.grad_kernel, 'gradient of the kernel: aᵀ·∂L/∂z'),
      matrix('∂L/∂b', l.grad_bias, 'gradient of the bias: the column sums of ∂L/∂z'),
    );
    sec.append(h, row);
    box.appendChild(sec);
  });
}
