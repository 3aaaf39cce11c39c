/**
 * WWW-Authenticate parsing (RFC 7235): one header may hold several
 * challenges, each `Scheme k=v, k="quoted, value"`, and a response may carry
 * several headers. Scheme names are lowercased; parameter names too.
 */

export interface Challenge {
  scheme: string; // "bearer", "basic", ...
  params: Record<string, string>;
}

export function parseChallenges(headers: string | string[] | undefined): Challenge[] {
  if (headers === undefined) return [];
  const list = Array.isArray(headers) ? headers : [headers];
  return list.flatMap(parseOne);
}

function parseOne(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipWs = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < n && !' \t,="'.includes(header[i])) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipWs();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const start = i;
    const name = token();
    if (!name) {
      i++; // stray character: skip it
      continue;
    }
    skipWs();
    if (header[i] === '=' && current) {
      i++;
      skipWs();
      let value: string;
      if (header[i] === '"') {
        i++;
        value = '';
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i++];
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
    } else if (header[i] === '=' && !current) {
      // token68 or parameter without a scheme: not something we can use.
      i = start + name.length + 1;
    } else {
      current = {scheme: name.toLowerCase(), params: {}};
      out.push(current);
    }
  }
  return out;
}
