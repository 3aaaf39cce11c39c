/**
 * Column alignment with the semantics of Go's text/tabwriter (the writer
 * podman's tables go through): text is split into lines and tab-terminated
 * cells; the cells of one column within a block of consecutive lines that
 * all have that column are padded to the same width,
 *   width = max(minwidth, widest cell + padding),
 * and the last cell of each line (not tab-terminated) is never padded.
 * Widths are counted in code points, as tabwriter counts runes.
 */

export interface TabwriterOptions {
  minwidth: number;
  padding: number;
  padchar: string;
}

/** podman's settings: report.New → tabwriter.NewWriter(w, 12, 2, 2, ' ', 0). */
export const PODMAN_TABWRITER: TabwriterOptions = {minwidth: 12, padding: 2, padchar: ' '};

const width = (s: string) => Array.from(s).length;

/** Aligns `text`; a missing final newline stays missing. */
export function tabwrite(text: string, opts: TabwriterOptions = PODMAN_TABWRITER): string {
  const lines = text.split('\n').map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      let line = '';
      cells.forEach((cell, j) => {
        line += cell;
        if (j < widths.length && j < cells.length - 1) line += opts.padchar.repeat(Math.max(widths[j] - width(cell), 0));
      });
      out.push(line);
    }
  };

  // Go's Writer.format: recursively find column blocks, left to right.
  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= lines[i].length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let w = opts.minwidth;
      for (; i < line1 && column < lines[i].length - 1; i++) w = Math.max(w, width(lines[i][column]) + opts.padding);
      widths.push(w);
      format(line0, i);
      widths.pop();
      line0 = i;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n');
}
