// index.d.ts must declare exactly what the entry points export and what
// CascadeEvaluator instances offer, so that the hand-written types cannot
// drift from the code unnoticed.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import * as nodeEntry from '../js/node.js';
import * as webEntry from '../js/web.js';

const declarations = readFileSync(new URL('../index.d.ts', import.meta.url), 'utf8');

function declaredValues() {
  const names = [...declarations.matchAll(/^export (?:declare )?(?:function|class|const) (\w+)/gm)];
  return names.map((match) => match[1]).sort();
}

function declaredMembers(className) {
  const start = declarations.indexOf(`export class ${className} {`);
  assert.notEqual(start, -1, `index.d.ts declares no class ${className}`);
  const body = declarations.slice(start, declarations.indexOf('\n}', start));
  const members = [...body.matchAll(/^ {2}(?:readonly )?(\w+)\s*[(<:]/gm)].map((match) => match[1]);
  return members.filter((name) => name !== 'constructor').sort();
}

test('declared exports match both entries', () => {
  assert.deepEqual(Object.keys(webEntry).sort(), declaredValues());
  assert.deepEqual(Object.keys(nodeEntry).sort(), declaredValues());
});

test('declared members match the class', () => {
  const prototype = nodeEntry.CascadeEvaluator.prototype;
  const actual = Object.getOwnPropertyNames(prototype).filter((name) => name !== 'constructor');
  assert.deepEqual(actual.sort(), declaredMembers('CascadeEvaluator'));
  assert.equal(typeof prototype[Symbol.dispose], 'function');
  assert.match(declarations, /\[Symbol\.dispose\]\(\): void;/);
});

test('declared error codes cover JS-side codes', () => {
  const union = declarations.slice(declarations.indexOf('export type ErrorCode'), declarations.indexOf('export class CascadeError'));
  const declared = new Set([...union.matchAll(/'([A-Z_]+)'/g)].map((match) => match[1]));
  const sources = ['../js/evaluator.js', '../js/web.js'].map((file) => readFileSync(new URL(file, import.meta.url), 'utf8'));
  const thrown = sources.flatMap((source) => [...source.matchAll(/new CascadeError\(\s*'([A-Z_]+)'/g)].map((match) => match[1]));
  assert.ok(thrown.length > 0);
  for (const code of thrown) {
    assert.ok(declared.has(code), `${code} is thrown but not in ErrorCode`);
  }
  for (const code of ['SNAPSHOT_CORRUPT', 'SNAPSHOT_TRUNCATED', 'SNAPSHOT_VERSION_UNSUPPORTED', 'SNAPSHOT_STALE']) {
    assert.ok(declared.has(code), code);
  }
});
