/**
 * Splits a Go identifier into words the way podman's table headings do
 * (containers/common/pkg/report/camelcase): "CreatedAt" → [Created, At],
 * "PDFLoader" → [PDF, Loader], "GL11Version" → [GL, 11, Version].
 */

type CharClass = 'lower' | 'upper' | 'digit' | 'other';

function classOf(ch: string): CharClass {
  if (/^\p{Ll}$/u.test(ch)) return 'lower';
  if (/^\p{Lu}$/u.test(ch)) return 'upper';
  if (/^\p{Nd}$/u.test(ch)) return 'digit';
  return 'other';
}

export function camelSplit(src: string): string[] {
  const runs: string[][] = [];
  let last: CharClass | undefined;
  for (const ch of src) {
    const c = classOf(ch);
    if (c === last) runs[runs.length - 1].push(ch);
    else runs.push([ch]);
    last = c;
  }
  // An upper-case run followed by a lower-case run gives its last letter
  // to the lower-case word: "PDFL" "oader" → "PDF" "Loader".
  for (let i = 0; i < runs.length - 1; i++) {
    if (classOf(runs[i][0]) === 'upper' && classOf(runs[i + 1][0]) === 'lower') {
      runs[i + 1].unshift(runs[i].pop() as string);
    }
  }
  return runs.filter((r) => r.length > 0).map((r) => r.join(''));
}
