import {test} from 'node:test';
import assert from 'node:assert/strict';
import {compile} from '../../../src/lib/util/gotemplate';
import {formatFloat} from '../../../src/lib/util/gotemplate/gofloat';
import {sprintf} from '../../../src/lib/util/gotemplate/fmt';
import {camelSplit} from '../../../src/lib/util/gotemplate/camelcase';
import {tabwrite} from '../../../src/lib/util/gotemplate/tabwriter';
import {isSkiffError} from '../../../src/lib/util/errors';

const data = {
  ID: 'abcdef1234567890',
  Names: ['a', 'b'],
  Size: 1234,
  F: 1.5,
  M: {b: 2, a: 'x'},
  N: null,
  Empty: [],
  Client: {Version: '4.3.1'},
  Labels: {b: '2', a: 'x'},
  Greet(who: string) {
    return `hi ${who}`;
  },
};

const run = (t: string, d: unknown = data) => compile(t).execute(d);

// Expected values are what Go's text/template (podman 4.3.1) prints.
const cases: Array<[string, string]> = [
  ['{{.ID}}', 'abcdef1234567890'],
  ['{{.}}', `map[Client:map[Version:4.3.1] Empty:[] F:1.5 Greet:0xc000000000 ID:abcdef1234567890 Labels:map[a:x b:2] M:map[a:x b:2] N:<nil> Names:[a b] Size:1234]`],
  ['{{.Client.Version}} {{$.Client.Version}}', '4.3.1 4.3.1'],
  ['{{.Names}} {{.Size}} {{.F}} {{.M}}', '[a b] 1234 1.5 map[a:x b:2]'],
  ['{{.N}}|{{.Missing}}|{{.Missing.Deeper}}|{{.N.X}}', '<no value>|<no value>|<no value>|<no value>'],
  ['{{.Labels}}|{{.Labels.x}}|{{.Labels.a}}|{{len .Labels}}', 'map[a:x b:2]|<no value>|x|2'],
  ['{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}', 'a=x;b=2;'],
  ['{{range $i, $e := .Names}}{{$i}}={{$e}},{{end}}', '0=a,1=b,'],
  ['{{range .Names}}[{{.}}]{{end}}', '[a][b]'],
  ['{{range .Empty}}x{{else}}none{{end}}|{{range .Missing}}x{{else}}nil{{end}}', 'none|nil'],
  ['{{range .Names}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', 'a'],
  ['{{range .Names}}{{if eq . "a"}}{{continue}}{{end}}{{.}}{{end}}', 'b'],
  ['{{range $i := 3}}{{$i}}{{end}}', '012'],
  ['{{if .Size}}big{{end}}{{if .Empty}}x{{else if .N}}y{{else}}z{{end}}', 'bigz'],
  ['{{with .Client}}{{.Version}}{{end}}{{with .Empty}}x{{else}}empty{{end}}', '4.3.1empty'],
  ['{{$x := 1}}{{$x = 2}}{{$x}}', '2'],
  ['{{$x := .Size}}{{range .Names}}{{$x}}{{end}}', '12341234'],
  ['{{if $v := .Client.Version}}{{$v}}{{end}}', '4.3.1'],
  ['a {{- " b " -}} c', 'a b c'],
  ['x {{/* comment */}} y |{{- /* trimmed */ -}} |z', 'x  y ||z'],
  ['{{"a\\tb\\u00e9\\x41"}}|{{`raw\\n`}}', 'a\tbéA|raw\\n'],
  ['{{1}} {{-1.5}} {{0x1F}} {{1e3}} {{true}} {{\'a\'}} {{017}} {{1_000}}', '1 -1.5 31 1000 true 97 15 1000'],
  ['{{print 1 2 "a" 3}}|{{println 1 "a"}}|{{print nil}}', '1 2a3|1 a\n|<nil>'],
  ['{{printf "%-10s|%5.2f|%x|%q|%v|%d" .Client.Version 3.14159 255 "a\\tb" .Names 7}}', '4.3.1     | 3.14|ff|"a\\tb"|[a b]|7'],
  ['{{.ID | printf "%s!"}}|{{.Size | printf "%d-%d" 1}}', 'abcdef1234567890!|1-1234'],
  ['{{(index .Names 1) | upper}}|{{(.Client).Version}}', 'B|4.3.1'],
  ['{{index .Names 1}} {{index .M "a"}} {{index .Labels "zz"}} {{slice .ID 2 4}} {{slice .Names 1}}', 'b x <no value> cd [b]'],
  ['{{len .ID}} {{len .Names}} {{len "é"}}', '16 2 2'],
  ['{{and 1 0 2}} {{and 1 2}} {{or 0 "" "x"}} {{or 0 ""}} {{not .Empty}}', '0 2 x  true'],
  ['{{and .N .N.X}}', '<no value>'],
  ['{{eq .Size 1234}} {{eq "a" "b" "a"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}} {{eq .N nil}} {{eq .ID nil}}', 'true true true true true true false true false'],
  ['{{html "<a&b>\\"x\'"}} {{js "<a&b>\\"x\'=\\n"}} {{urlquery "a b&c=d/é"}}', '&lt;a&amp;b&gt;&#34;x&#39; \\u003Ca\\u0026b\\u003E\\"x\\\'\\u003D\\u000A a+b%26c%3Dd%2F%C3%A9'],
  ['{{html .Missing}}', '&lt;no value&gt;'],
  ['{{json "<a&b>"}} {{json .M}} {{json .N}} {{json .Names}}', '"<a&b>" {"b":2,"a":"x"} null ["a","b"]'],
  ['{{lower "AbC"}} {{upper "abc"}} {{title "hello wORLD foo-bar_baz"}}', 'abc ABC Hello WORLD Foo-Bar_baz'],
  ['{{join .Names ","}} {{split "a,b,c" ","}} {{pad "x" 2 3}}|{{pad "" 2 3}}|', 'a,b [a b c]   x   ||'],
  ['{{truncate .ID 12}} {{truncate "ab" 12}}', 'abcdef123456 ab'],
  ['{{.Greet "bob"}} {{"sue" | .Greet}}', 'hi bob hi sue'],
  ['{{define "T"}}[{{.}}]{{end}}{{template "T" .Size}}{{template "T"}}', '[1234][<no value>]'],
  ['{{block "B" .ID}}<{{.}}>{{end}}', '<abcdef1234567890>'],
  ['{{with $x := .Client}}{{$x.Version}}{{end}}', '4.3.1'],
];

for (const [tmpl, want] of cases) {
  test(`template ${tmpl}`, () => {
    assert.equal(run(tmpl), want);
  });
}

// Go's error wording, checked against podman 4.3.1 where it could be.
const errors: Array<[string, string]> = [
  ['{{foo}}', 'template: output:1: function "foo" not defined'],
  ['{{if}}', 'template: output:1: missing value for if'],
  ['{{end}}', 'template: output:1: unexpected {{end}}'],
  ['{{.ID', 'template: output:1: unclosed action'],
  ['{{range .}}', 'template: output:1: unexpected EOF'],
  ['{{$y}}', 'template: output:1: undefined variable "$y"'],
  ['{{1 | 2}}', 'template: output:1: non executable command in pipeline stage 2'],
  ['{{break}}', 'template: output:1: {{break}} outside {{range}}'],
  ['{{/* x */ y}}', 'template: output:1: comment ends before closing delimiter'],
  ['a\n{{"x}}', 'template: output:2: unterminated quoted string'],
  ['{{"\\q"}}', 'template: output:1: invalid syntax'],
  ['{{.ID.X}}', 'template: output:1:5: executing "output" at <.ID.X>: can\'t evaluate field X in type string'],
  ['{{$x := 1}}{{$x.Y}}', 'template: output:1:15: executing "output" at <$x.Y>: can\'t evaluate field Y in type int'],
  ['{{(1).X}}', 'template: output:1:3: executing "output" at <1>: can\'t evaluate field X in type int'],
  ['{{index .Names 5}}', 'template: output:1:2: executing "output" at <index .Names 5>: error calling index: index out of range: 5'],
  ['{{index nil 1}}', 'template: output:1:2: executing "output" at <index nil 1>: error calling index: index of untyped nil'],
  ['{{slice "abc" 2 1}}', 'template: output:1:2: executing "output" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1'],
  ['{{upper 5}}', 'template: output:1:8: executing "output" at <5>: expected string; found 5'],
  ['{{upper .Size}}', 'template: output:1:8: executing "output" at <.Size>: wrong type for value; expected string; got int'],
  ['{{truncate .ID}}', 'template: output:1:2: executing "output" at <truncate>: wrong number of args for truncate: want 2 got 1'],
  ['{{"a" 1}}', 'template: output:1:2: executing "output" at <"a">: can\'t give argument to non-function "a"'],
  ['{{nil}}', 'template: output:1:2: executing "output" at <nil>: nil is not a command'],
  ['{{eq 1 "a"}}', 'template: output:1:2: executing "output" at <eq 1 "a">: error calling eq: incompatible types for comparison'],
  ['{{lt true false}}', 'template: output:1:2: executing "output" at <lt true false>: error calling lt: invalid type for comparison'],
  ['{{range .ID}}{{end}}', 'template: output:1:8: executing "output" at <.ID>: range can\'t iterate over abcdef1234567890'],
  ['{{template "nope"}}', 'template: output:1:11: executing "output" at <{{template "nope"}}>: template "nope" not defined'],
  ['{{.Size 1}}', 'template: output:1:2: executing "output" at <.Size>: Size is not a method but has arguments'],
];

for (const [tmpl, want] of errors) {
  test(`template error ${tmpl}`, () => {
    assert.throws(
      () => run(tmpl),
      (e: unknown) => isSkiffError(e, 'invalid-input') && e.message === want,
    );
  });
}

test('execution error lines count from the template text', () => {
  assert.throws(() => run('x\n  {{.ID.X}}'), /template: output:2:7: executing/);
});

test('fields() lists top-level fields in first-use order', () => {
  assert.deepEqual(compile('{{.B}} {{if .A}}{{.C.D}}{{end}} {{join .B ","}} {{range .E}}{{.F}}{{end}}').fields(), ['B', 'A', 'C', 'E', 'F']);
});

test('sprintf matches Go fmt', () => {
  const cases: Array<[string, unknown[], string]> = [
    ['%e %g %g %g %.3g %G', [1234.5678, 1e6, 0.00001234, 123456, 1234.5678, 1e-7], '1.234568e+03 1e+06 1.234e-05 123456 1.23e+03 1E-07'],
    ['%08.3f %+d %x %X %o %#x %c %U %#U %t', [-3.14159, 5, 'hi', 255, 8, 255, 65, 65, 9731, true], "-003.142 +5 6869 FF 10 0xff A U+0041 U+2603 '☃' true"],
    ['%5s|%-5s|%05s|%.2s|%5.1q|%x|% x|%#v', ['ab', 'ab', 'ab', 'abcdef', 'abc', 'hi', 'hi', 's'], '   ab|ab   |000ab|ab|  "a"|6869|68 69|"s"'],
    ['%v %v %v %v', [1e21, 1e20, 123456789.5, 0.000001], '1e+21 1e+20 1.234567895e+08 1e-06'],
    ['%d %s', [], '%!d(MISSING) %!s(MISSING)'],
    ['%d', [1, 2, 'x'], '1%!(EXTRA int=2, string=x)'],
    ['%v %s %d', [null, null, null], '<nil> %!s(<nil>) %!d(<nil>)'],
    ['%s %d', [8, 'x'], '%!s(int=8) %!d(string=x)'],
    ['%6.2f%%', [99.5], ' 99.50%'],
    ['%-4d|%04d|%x', [7, -7, -255], '7   |-007|-ff'],
    ['%s', [['a', 'b']], '[a b]'],
    ['%q', [['a', 'b']], '["a" "b"]'],
    ['%.0f %.0f %.1f', [0.5, 1.5, 0.25], '0 2 0.2'],
    ['%T %T %T %T', ['s', 1, 1.5, []], 'string int float64 []interface {}'],
    ['%*d|%-*d', [4, 1, 3, 2], '   1|2  '],
  ];
  for (const [f, args, want] of cases) assert.equal(sprintf(f, args), want, f);
});

test('formatFloat follows strconv', () => {
  const cases: Array<[number, 'e' | 'f' | 'g', number, string]> = [
    [0, 'g', -1, '0'],
    [0, 'e', -1, '0e+00'],
    [100000, 'g', -1, '100000'],
    [1000000, 'g', -1, '1e+06'],
    [0.0001, 'g', -1, '0.0001'],
    [0.00001, 'g', -1, '1e-05'],
    [2.5, 'f', 0, '2'],
    [3.5, 'f', 0, '4'],
    [1.005, 'f', 2, '1.00'],
    [123.456, 'e', 2, '1.23e+02'],
    [-0.5, 'g', 3, '-0.5'],
    [Infinity, 'f', 2, '+Inf'],
  ];
  for (const [v, verb, prec, want] of cases) assert.equal(formatFloat(v, verb, prec), want, `${v} ${verb} ${prec}`);
});

test('camelSplit splits like podman headers', () => {
  const cases: Array<[string, string[]]> = [
    ['CreatedAt', ['Created', 'At']],
    ['ID', ['ID']],
    ['PDFLoader', ['PDF', 'Loader']],
    ['GL11Version', ['GL', '11', 'Version']],
    ['vimRPCPlugin', ['vim', 'RPC', 'Plugin']],
    ['ReadOnly', ['Read', 'Only']],
  ];
  for (const [s, want] of cases) assert.deepEqual(camelSplit(s), want, s);
});

test('tabwrite aligns columns like Go tabwriter(12, 2, 2, " ")', () => {
  const cases: Array<[string, string]> = [
    ['a\tb\n', 'a           b\n'],
    ['REPOSITORY\tTAG\n', 'REPOSITORY  TAG\n'],
    ['averyverylongrepo\tx\nb\tyy\n', 'averyverylongrepo  x\nb                  yy\n'],
    // A line without tabs ends the column block.
    ['aaaaaaaaaaaaaaa\tb\nno tabs\nc\td\n', 'aaaaaaaaaaaaaaa  b\nno tabs\nc           d\n'],
    // Trailing cells are never padded; trailing empty tab-terminated cells are.
    ['a\tb\t\n', 'a           b           \n'],
    // Widths count characters, not bytes.
    ['héllo\tx\n', 'héllo       x\n'],
    ['no newline\tx', 'no newline  x'],
    ['', ''],
  ];
  for (const [input, want] of cases) assert.equal(tabwrite(input), want, JSON.stringify(input));
});
