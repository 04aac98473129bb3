// The page's one WebSocket to the training server: JSON messages in and out, reconnecting.

/** Decode a packed array {shape, dtype: "float32" or "uint8" (with lo, hi per row), b64} into
 * {shape, data: Float32Array}. */
export function unpack(packed) {
  if (!packed || typeof packed.b64 !== 'string') return packed;
  let bytes;
  if (Uint8Array.fromBase64) {
    bytes = Uint8Array.fromBase64(packed.b64); // native: a few times faster than atob + a loop
  } else {
    const bin = atob(packed.b64);
    bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  }
  if (packed.dtype === 'uint8') return { shape: packed.shape, data: dequantize(bytes, packed) };
  // Little-endian float32 on the wire; every platform a browser runs on is little-endian.
  return { shape: packed.shape, data: new Float32Array(bytes.buffer) };
}

/** 8-bit codes back to floats: row r's code c is lo[r] + c * (hi[r] - lo[r]) / 255. */
function dequantize(codes, packed) {
  const rows = packed.lo.length, width = codes.length / rows;
  const out = new Float32Array(codes.length);
  for (let r = 0; r < rows; r++) {
    const lo = packed.lo[r], step = (packed.hi[r] - packed.lo[r]) / 255;
    for (let i = r * width; i < (r + 1) * width; i++) out[i] = lo + codes[i] * step;
  }
  return out;
}

export class Socket {
  /**
   * @param {function(object)} onMessage called with each parsed message
   * @param {function(string)} onStatus called with "open", "closed" or "connecting"
   * @param {function(object)} onRefused called with each message not sent: the connection is down
   */
  constructor(onMessage, onStatus, onRefused = () => {}) {
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.onRefused = onRefused;
    this.ws = null;
    this.retry = 500;
  }

  connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.onStatus('connecting');
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => { this.retry = 500; this.onStatus('open'); };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.onStatus('closed');
      // A restarted server is a new session; reconnect and let the page resend its setup.
      setTimeout(() => this.connect(), this.retry);
      this.retry = Math.min(this.retry * 2, 8000);
    };
  }

  get open() { return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN); }

  /** Send a message; false (nothing sent, onRefused told) while the connection is down. */
  send(msg) {
    if (!this.open) { this.onRefused(msg); return false; }
    this.ws.send(JSON.stringify(msg));
    return true;
  }
}
