import {test} from 'node:test';
import assert from 'node:assert/strict';
import {formatOne, isJsonFormat, renderInspect, renderList, renderOne} from '../../../src/cli/output';
import {isSkiffError} from '../../../src/lib/util/errors';

// Columns and rows shaped like `podman images`; expected output was taken
// from podman 4.3.1 on the same images.
const columns = [
  {header: 'REPOSITORY', field: 'Repository'},
  {header: 'TAG', field: 'Tag'},
  {header: 'IMAGE ID', field: 'ID'},
  {header: 'CREATED', field: 'CreatedSince'},
  {header: 'SIZE', field: 'Size'},
  {header: 'R/O', field: 'ReadOnly'},
];
const defaultColumns = columns.slice(0, 5);
const rows = [
  {Repository: 'localhost/averyveryverylongrepositoryname/x', Tag: 'v1', ID: 'c52b6ba642d6', CreatedSince: '1 second ago', Size: '11.3 kB', ReadOnly: false, Names: ['localhost/x:v1', 'localhost/short:t2'], Labels: {}},
  {Repository: 'localhost/short', Tag: 't2', ID: 'c52b6ba642d6', CreatedSince: '1 second ago', Size: '11.3 kB', ReadOnly: false, Names: ['localhost/x:v1', 'localhost/short:t2'], Labels: {}},
];

const listCases: Array<[string, Parameters<typeof renderList>, string]> = [
  ['default table, no rows', [[], {columns: defaultColumns}], 'REPOSITORY  TAG         IMAGE ID    CREATED     SIZE\n'],
  ['table format, no rows', [[], {columns, format: 'table {{.ID}}\\t{{.Repository}}'}], 'IMAGE ID    REPOSITORY\n'],
  ['no rows, no heading', [[], {columns: defaultColumns, noHeading: true}], ''],
  [
    'default table',
    [rows, {columns: defaultColumns}],
    'REPOSITORY                                   TAG         IMAGE ID      CREATED       SIZE\n' +
      'localhost/averyveryverylongrepositoryname/x  v1          c52b6ba642d6  1 second ago  11.3 kB\n' +
      'localhost/short                              t2          c52b6ba642d6  1 second ago  11.3 kB\n',
  ],
  [
    'default table, --noheading',
    [rows, {columns: defaultColumns, noHeading: true}],
    'localhost/averyveryverylongrepositoryname/x  v1          c52b6ba642d6  1 second ago  11.3 kB\n' +
      'localhost/short                              t2          c52b6ba642d6  1 second ago  11.3 kB\n',
  ],
  [
    'table: spaces become column breaks, functions apply to headings',
    [rows, {columns, format: 'table {{.Repository | upper}} {{.ReadOnly}} {{.Labels}} {{.Names}}'}],
    'REPOSITORY                                   R/O         LABELS      NAMES\n' +
      'LOCALHOST/AVERYVERYVERYLONGREPOSITORYNAME/X  false       map[]       [localhost/x:v1 localhost/short:t2]\n' +
      'LOCALHOST/SHORT                              false       map[]       [localhost/x:v1 localhost/short:t2]\n',
  ],
  [
    'table: headings of fields without a column are split camel case',
    [[{ID: 'x', CreatedAt: 'y'}], {columns, format: 'table {{.ID}}\t{{.CreatedAt}}'}],
    'IMAGE ID    CREATED AT\nx           y\n',
  ],
  ['plain template: one line per row, escapes expanded, no alignment', [rows, {columns, format: '{{.Repository}}\\t{{.Tag}}'}], 'localhost/averyveryverylongrepositoryname/x\tv1\nlocalhost/short\tt2\n'],
  ['plain template with its own range', [rows, {columns, format: '{{range .}}{{.Tag}}{{end}}'}], 'v1t2\n'],
  ['plain template ending in a newline gets no second one', [rows, {columns, format: '{{.Tag}}\n'}], 'v1\nt2\n'],
  ['plain template, no rows', [[], {columns, format: '{{.Tag}}'}], ''],
  ['json, no rows', [[], {columns, format: 'json'}], '[]\n'],
  ['json escapes HTML like json.MarshalIndent', [[{A: '<none>', B: [1]}], {columns, format: '{{json .}}'}], '[\n    {\n        "A": "\\u003cnone\\u003e",\n        "B": [\n            1\n        ]\n    }\n]\n'],
];

for (const [name, args, want] of listCases) {
  test(`renderList: ${name}`, () => {
    assert.equal(renderList(...args), want);
  });
}

test('renderList: template errors are invalid input with Go wording', () => {
  assert.throws(
    () => renderList(rows, {columns, format: '{{nope .ID}}', name: 'images'}),
    (e: unknown) => isSkiffError(e, 'invalid-input') && e.message === 'template: images:1: function "nope" not defined',
  );
});

test('renderList: a format that only parses un-normalized falls back to the raw text', () => {
  // Expanding \n inside the string literal leaves it unterminated, so podman
  // parses the original text instead (current containers/common drops the
  // "table " keyword there; podman 4.3 printed it literally).
  const format = 'table {{printf "%s\\n" .Tag}}';
  assert.equal(renderList(rows, {columns, format}), 'TAG\nv1\nt2\n');
  assert.equal(renderList(rows, {columns, format: '{{printf "%s\\n" .Tag}}'}), 'v1\nt2\n');
});

test('isJsonFormat matches report.IsJSON', () => {
  for (const f of ['json', ' json ', '{{json .}}', '{{ json . }}', '{{json}}']) assert.ok(isJsonFormat(f), f);
  for (const f of ['{{json .ID}}', 'JSON', 'table json']) assert.ok(!isJsonFormat(f), f);
});

test('renderOne: json with four-space indent, templates without a forced newline', () => {
  const v = {Client: {Version: '4.3.1'}};
  assert.equal(renderOne(v, 'json'), '{\n    "Client": {\n        "Version": "4.3.1"\n    }\n}');
  assert.equal(renderOne(v, '{{printf "%-10s|" .Client.Version}}'), '4.3.1     |');
  assert.equal(renderOne(v, '{{.Client.Version}}\\t!'), '4.3.1\t!');
  assert.equal(renderOne(v, 'json', {jsonIndent: ''}), '{"Client":{"Version":"4.3.1"}}');
});

test('formatOne: newline-terminated like podman', () => {
  assert.equal(formatOne({A: 1}, '{{.A}}'), '1\n');
  assert.equal(formatOne({A: 1}, '{{.A}}\\n'), '1\n');
  assert.equal(formatOne({A: 1}, 'json'), '{\n    "A": 1\n}\n');
  assert.throws(() => formatOne({A: 1}, '{{.A.B}}', {name: 'version'}), /^SkiffError: template: version:1:4: executing "version" at <.A.B>: can't evaluate field B in type int$/);
});

test('renderInspect: five-space JSON like podman inspect, or the template per item', () => {
  const items = [{Name: 'v1', Labels: {b: '2', a: '<x>'}}];
  assert.equal(renderInspect(items), '[\n     {\n          "Name": "v1",\n          "Labels": {\n               "b": "2",\n               "a": "<x>"\n          }\n     }\n]\n');
  assert.equal(renderInspect([], 'json'), '[]\n');
  assert.equal(renderInspect([...items, {Name: 'v2', Labels: {}}], '{{.Name}} {{.Labels}}'), 'v1 map[a:<x> b:2]\nv2 map[]\n');
});
