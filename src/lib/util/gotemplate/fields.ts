/**
 * The top-level field names a template refers to ({{.ID}}, {{.Size | x}},
 * {{if .Names}} ...), in order of first use. Table headings are derived
 * from them.
 */
import type {AnyNode} from './ast';
import type {ParsedTemplate} from './parser';

function visit(n: AnyNode | undefined, out: Set<string>): void {
  if (!n) return;
  switch (n.kind) {
    case 'list':
      n.nodes.forEach((c) => visit(c, out));
      return;
    case 'action':
      visit(n.pipe, out);
      return;
    case 'if':
    case 'range':
    case 'with':
      visit(n.pipe, out);
      visit(n.list, out);
      visit(n.elseList, out);
      return;
    case 'template':
      visit(n.pipe, out);
      return;
    case 'pipe':
      n.cmds.forEach((c) => visit(c, out));
      return;
    case 'command':
      n.args.forEach((a) => visit(a, out));
      return;
    case 'chain':
      visit(n.node, out);
      return;
    case 'field':
      out.add(n.idents[0]);
      return;
  }
}

export function referencedFields(t: ParsedTemplate): string[] {
  const out = new Set<string>();
  visit(t.root, out);
  for (const body of t.defines.values()) visit(body, out);
  return [...out];
}
