/**
 * Go's float formatting (strconv.FormatFloat) for the verbs %e, %f and %g,
 * with Go's rounding (exact decimal value, ties to even) and exponent form
 * ("1e+06", at least two exponent digits). Precision -1 means "shortest
 * representation that round-trips", as %v uses.
 */

interface Decimal {
  /** Significant digits without leading or trailing zeros ("" for zero). */
  digits: string;
  /** Position of the decimal point relative to the digits (value = 0.digits × 10^dp). */
  dp: number;
}

function trimZeros(d: Decimal): Decimal {
  let {digits, dp} = d;
  const lead = digits.length - digits.replace(/^0+/, '').length;
  digits = digits.slice(lead);
  dp -= lead;
  digits = digits.replace(/0+$/, '');
  return digits === '' ? {digits: '', dp: 0} : {digits, dp};
}

/** The exact decimal expansion of a finite, non-negative double. */
function exactDecimal(v: number): Decimal {
  if (v === 0) return {digits: '', dp: 0};
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  if (exp >= 0) {
    const s = (mant << BigInt(exp)).toString();
    return trimZeros({digits: s, dp: s.length});
  }
  const s = (mant * 5n ** BigInt(-exp)).toString();
  return trimZeros({digits: s, dp: s.length + exp});
}

/** The shortest decimal that round-trips (JS and Go agree on these digits). */
function shortestDecimal(v: number): Decimal {
  if (v === 0) return {digits: '', dp: 0};
  const [mant, e] = v.toExponential().split('e');
  return trimZeros({digits: mant.replace('.', ''), dp: Number(e) + 1});
}

/** Rounds to `n` significant digits, ties to even (Go's decimal.Round). */
function roundDigits(d: Decimal, n: number): Decimal {
  if (n < 0) return {digits: '', dp: 0};
  if (n >= d.digits.length) return d;
  const next = d.digits.charCodeAt(n) - 48;
  let up = next > 5;
  if (next === 5) {
    const exactHalf = n + 1 === d.digits.length;
    up = !exactHalf || (n > 0 && (d.digits.charCodeAt(n - 1) - 48) % 2 === 1);
  }
  if (!up) return trimZeros({digits: d.digits.slice(0, n), dp: d.dp});
  let i = n - 1;
  const chars = d.digits.slice(0, n).split('');
  while (i >= 0 && chars[i] === '9') i--;
  if (i < 0) return {digits: '1', dp: d.dp + 1};
  chars[i] = String.fromCharCode(chars[i].charCodeAt(0) + 1);
  return trimZeros({digits: chars.slice(0, i + 1).join(''), dp: d.dp});
}

function digitAt(d: Decimal, i: number): string {
  return i >= 0 && i < d.digits.length ? d.digits[i] : '0';
}

function fmtE(d: Decimal, prec: number, e: string): string {
  let out = d.digits === '' ? '0' : d.digits[0];
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(d, i);
  }
  const exp = d.digits === '' ? 0 : d.dp - 1;
  const abs = Math.abs(exp);
  return `${out}${e}${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
}

function fmtF(d: Decimal, prec: number): string {
  let out = '';
  if (d.dp > 0) for (let i = 0; i < d.dp; i++) out += digitAt(d, i);
  else out = '0';
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(d, d.dp + i);
  }
  return out;
}

export type FloatVerb = 'e' | 'E' | 'f' | 'F' | 'g' | 'G';

/** Formats `v` like strconv.FormatFloat(v, verb, prec, 64); the sign is included for negatives. */
export function formatFloat(v: number, verb: FloatVerb, prec: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  const shortest = prec < 0;
  let d: Decimal;
  const lower = verb.toLowerCase();
  if (shortest) d = shortestDecimal(abs);
  else {
    const exact = exactDecimal(abs);
    if (lower === 'e') d = roundDigits(exact, prec + 1);
    else if (lower === 'f') d = roundDigits(exact, exact.dp + prec);
    else d = roundDigits(exact, prec === 0 ? 1 : prec);
  }
  let out: string;
  if (lower === 'e') out = fmtE(d, shortest ? Math.max(d.digits.length - 1, 0) : prec, verb === 'E' ? 'E' : 'e');
  else if (lower === 'f') out = fmtF(d, shortest ? Math.max(d.digits.length - d.dp, 0) : prec);
  else {
    let p = shortest ? d.digits.length : prec === 0 ? 1 : prec;
    let eprec = p;
    if (eprec > d.digits.length && d.digits.length >= d.dp) eprec = d.digits.length;
    if (shortest) eprec = 6;
    const exp = d.dp - 1;
    if (d.digits !== '' && (exp < -4 || exp >= eprec)) {
      if (p > d.digits.length) p = d.digits.length;
      out = fmtE(d, Math.max(p - 1, 0), verb === 'G' ? 'E' : 'e');
    } else {
      if (p > d.dp) p = d.digits.length;
      out = fmtF(d, Math.max(p - d.dp, 0));
    }
  }
  return neg ? '-' + out : out;
}
