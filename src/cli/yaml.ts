/** A small YAML writer for plain data (podman info prints YAML by default). */

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  if (s === '' || /^[\s-?:,[\]{}#&*!|>'"%@`]|: |\s#|\s$|^(true|false|null|yes|no|~|[-+]?\d[\d.e+-]*)$/i.test(s)) return JSON.stringify(s);
  return s;
}

export function toYaml(v: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]\n';
    return v.map((item) => (typeof item === 'object' && item !== null ? `${pad}- ${toYaml(item, indent + 2).trimStart()}` : `${pad}- ${scalar(item)}\n`)).join('');
  }
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}\n';
    return entries
      .map(([k, x]) => {
        if (Array.isArray(x) && x.length > 0) return `${pad}${k}:\n${toYaml(x, indent + 2)}`;
        if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length > 0) return `${pad}${k}:\n${toYaml(x, indent + 2)}`;
        return `${pad}${k}: ${Array.isArray(x) ? '[]' : typeof x === 'object' && x !== null ? '{}' : scalar(x)}\n`;
      })
      .join('');
  }
  return `${pad}${scalar(v)}\n`;
}
