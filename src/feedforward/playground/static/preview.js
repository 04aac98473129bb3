// A node's picture, full size on the output map while the mouse is on the node (as in the
// TensorFlow Playground): drawn over the map, under the data points, with the node's name.

/**
 * Show a node's picture on the map, or the map itself again.
 *
 * @param {HTMLCanvasElement} canvas the map's preview layer
 * @param {HTMLElement} label the map's caption
 * @param {object | null} info the hovered node: title, and its picture, a region (sx, sy, sw, sh)
 *   of a canvas; null when the mouse has left it
 */
export function previewOnMap(canvas, label, info) {
  if (!info || !info.canvas || !info.sw) {
    canvas.hidden = true;
    label.hidden = true;
    return;
  }
  if (canvas.width !== info.sw || canvas.height !== info.sh) { canvas.width = info.sw; canvas.height = info.sh; }
  const ctx = canvas.getContext('2d');
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(info.canvas, info.sx, info.sy, info.sw, info.sh, 0, 0, info.sw, info.sh);
  canvas.hidden = false;
  if (label.textContent !== info.title) label.textContent = info.title;
  label.hidden = false;
}
