// The dashboard's pure manifest helpers (ui-static/js/manifest.js), run in
// node without a browser: YAML for people, Secret masking, the line diff.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import {toYaml, maskSecret, parseState, sideBySide, unifiedRows} from '../../ui-static/js/manifest.js';

test('toYaml nests maps and lists the way kubectl prints them', () => {
  const y = toYaml({kind: 'Deployment', spec: {replicas: 2, template: {spec: {containers: [{name: 'ui', ports: [{containerPort: 80}]}]}}}});
  assert.equal(y, [
    'kind: Deployment', 'spec:', '  replicas: 2', '  template:', '    spec:', '      containers:',
    '      - name: ui', '        ports:', '        - containerPort: 80', ''].join('\n'));
});

test('toYaml quotes strings YAML would read as something else', () => {
  const y = toYaml({a: 'true', b: '0777', c: 'x: y', d: '', e: 'plain', f: null, g: [], h: {}});
  assert.equal(y, 'a: "true"\nb: "0777"\nc: "x: y"\nd: ""\ne: plain\nf: null\ng: []\nh: {}\n');
});

test('toYaml writes multi-line strings as block scalars', () => {
  assert.equal(toYaml({data: {'app.conf': 'a=1\nb=2\n'}}), 'data:\n  app.conf: |\n    a=1\n    b=2\n');
});

test('maskSecret hides every data and stringData value and the last-applied copy', () => {
  const s = {kind: 'Secret', metadata: {name: 'x', annotations: {'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"p":"aHVudGVyMg=="}}'}},
    data: {p: 'aHVudGVyMg=='}, stringData: {q: 'hunter2'}};
  const m = maskSecret(s);
  assert.ok(!JSON.stringify(m).includes('aHVudGVyMg==') && !JSON.stringify(m).includes('hunter2'));
  assert.deepEqual(Object.keys(m.data), ['p']);
  assert.equal(s.data.p, 'aHVudGVyMg==', 'the original is untouched');
});

test('maskSecret leaves other kinds alone', () => {
  const c = {kind: 'ConfigMap', data: {a: 'b'}};
  assert.equal(maskSecret(c), c);
});

test('parseState reads JSON strings and treats empty and "null" as absent', () => {
  assert.deepEqual(parseState('{"a":1}'), {a: 1});
  assert.equal(parseState(''), null);
  assert.equal(parseState('null'), null);
  assert.equal(parseState('{broken'), null);
});

test('sideBySide pairs changed lines and keeps equal ones aligned', () => {
  const rows = sideBySide('a\nb\nc\n', 'a\nB\nc\nd\n');
  assert.deepEqual(rows.map((r) => r.op), ['same', 'chg', 'same', 'add']);
  assert.deepEqual(rows[1], {left: 'b', right: 'B', op: 'chg'});
  assert.deepEqual(rows[3], {left: null, right: 'd', op: 'add'});
});

test('sideBySide shows a removed resource as all deletions', () => {
  assert.deepEqual(sideBySide('a\nb\n', '').map((r) => r.op), ['del', 'del']);
});

test('unifiedRows lays the server\'s unified diff out side by side, a changed line paired across', () => {
  const rows = unifiedRows('--- live\n+++ desired\n@@ -5,3 +5,3 @@\n spec:\n-  replicas: 1\n+  replicas: 2\n   revisionHistoryLimit: 3\n');
  assert.deepEqual(rows, [
    {left: '@@ -5,3 +5,3 @@', right: '@@ -5,3 +5,3 @@', op: 'gap'},
    {left: 'spec:', right: 'spec:', op: 'same'},
    {left: '  replicas: 1', right: '  replicas: 2', op: 'chg'},
    {left: '  revisionHistoryLimit: 3', right: '  revisionHistoryLimit: 3', op: 'same'},
  ]);
});

test('unifiedRows keeps masked Secret values (runs of +) as content and pairs uneven runs', () => {
  const rows = unifiedRows('--- live\n+++ desired\n@@ -1,2 +1,3 @@\n data:\n-  password: ++++++++\n+  password: +++++++++++\n+  user: ++++\n');
  assert.deepEqual(rows.slice(1), [
    {left: 'data:', right: 'data:', op: 'same'},
    {left: '  password: ++++++++', right: '  password: +++++++++++', op: 'chg'},
    {left: null, right: '  user: ++++', op: 'add'},
  ]);
});

test('unifiedRows of an empty diff has no rows', () => {
  assert.deepEqual(unifiedRows(''), []);
  assert.deepEqual(unifiedRows(null), []);
});
