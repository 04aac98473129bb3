// The setup in the URL hash: `#` + encodeURIComponent(JSON.stringify(setup)), so a copied link
// reproduces the setup.

/** The setup in the current URL's hash, or null when there is none or it does not parse. */
export function readHash() {
  const raw = location.hash.slice(1);
  if (!raw) return null;
  try {
    const setup = JSON.parse(decodeURIComponent(raw));
    return setup && typeof setup === 'object' && !Array.isArray(setup) ? setup : null;
  } catch {
    return null;
  }
}

/** Put the setup in the hash without adding a history entry per change. */
export function writeHash(setup) {
  const hash = '#' + encodeURIComponent(JSON.stringify(setup));
  if (location.hash !== hash) history.replaceState(null, '', hash);
}
