// Bad input: every case must give the documented error or result, never a
// crash or a wasm trap (a WebAssembly.RuntimeError).

import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { after, describe, test } from 'node:test';

import { CascadeError, CascadeEvaluator } from '@cascade/evaluator';

import { wasm_memory as wasmMemory } from '../pkg/node/cascade_js.js';
import { exportSpecCorpus } from './fixtures.js';

const corpus = exportSpecCorpus();
after(() => corpus.remove());

const userIds = corpus.snapshot('user-ids.r3.snap');
const valueTypes = corpus.snapshot(
  corpus.results.find((file) => file.source === 'value-types.json').snapshots[0].file,
);
const HEADER_LENGTH = 32;
const SNAPSHOT_CODES = ['SNAPSHOT_CORRUPT', 'SNAPSHOT_TRUNCATED', 'SNAPSHOT_VERSION_UNSUPPORTED'];

/** A deterministic xorshift32 generator, so failures reproduce. */
function random(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

function randomBytes(next, length) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    bytes[i] = next() & 0xff;
  }
  return bytes;
}

/** Returns a copy of `bytes` with the body replaced and the header fixed up. */
function withBody(bytes, body) {
  const out = new Uint8Array(HEADER_LENGTH + body.length);
  out.set(bytes.subarray(0, HEADER_LENGTH));
  out.set(body, HEADER_LENGTH);
  const view = new DataView(out.buffer);
  view.setBigUint64(16, BigInt(body.length), true);
  // The checksum covers the header's first 24 bytes, then the body.
  view.setUint32(24, crc32(body, crc32(out.subarray(0, 24))), true);
  return out;
}

function assertCode(call, code, label) {
  assert.throws(call, (error) => {
    assert.ok(error instanceof CascadeError, `${label}: ${error}`);
    assert.equal(error.code, code, `${label}: ${error.message}`);
    return true;
  });
}

describe('snapshot bytes', () => {
  test('empty bytes are truncated', () => {
    assertCode(() => new CascadeEvaluator(new Uint8Array(0)), 'SNAPSHOT_TRUNCATED', 'empty');
    assertCode(() => new CascadeEvaluator(new ArrayBuffer(0)), 'SNAPSHOT_TRUNCATED', 'empty buffer');
  });

  test('every truncation is truncated', () => {
    for (let length = 0; length < userIds.length; length++) {
      assertCode(() => new CascadeEvaluator(userIds.subarray(0, length)), 'SNAPSHOT_TRUNCATED', `${length} bytes`);
    }
  });

  test('unsupported version is reported', () => {
    const bytes = Uint8Array.from(userIds);
    new DataView(bytes.buffer).setUint16(4, 0xffff, true);
    assertCode(() => new CascadeEvaluator(bytes), 'SNAPSHOT_VERSION_UNSUPPORTED', 'version 65535');
  });

  test('flipped bytes are corrupt', () => {
    for (let at = 0; at < userIds.length; at++) {
      const bytes = Uint8Array.from(userIds);
      bytes[at] ^= 0x01;
      if (at >= 4 && at < 6) {
        assertCode(() => new CascadeEvaluator(bytes), 'SNAPSHOT_VERSION_UNSUPPORTED', `byte ${at}`);
        continue;
      }
      assert.throws(() => new CascadeEvaluator(bytes), (error) => {
        assert.ok(SNAPSHOT_CODES.includes(error.code), `byte ${at}: ${error}`);
        return true;
      });
    }
  });

  test('random bytes never trap', () => {
    const next = random(0x5eed);
    for (let i = 0; i < 500; i++) {
      const bytes = randomBytes(next, next() % 300);
      assert.throws(() => new CascadeEvaluator(bytes), (error) => {
        assert.ok(error instanceof CascadeError, `case ${i}: ${error}`);
        assert.ok(SNAPSHOT_CODES.includes(error.code), `case ${i}: ${error.code}`);
        return true;
      });
    }
  });

  test('random body with valid header is corrupt', () => {
    const next = random(0xb0d7);
    for (let i = 0; i < 500; i++) {
      const bytes = withBody(userIds, randomBytes(next, next() % 400));
      assertCode(() => new CascadeEvaluator(bytes), 'SNAPSHOT_CORRUPT', `case ${i}`);
    }
  });

  test('mutated body with valid header never traps', () => {
    const next = random(0xfeed);
    const body = userIds.subarray(HEADER_LENGTH);
    for (let i = 0; i < 500; i++) {
      const mutated = Uint8Array.from(body);
      for (let flips = 1 + (next() % 4); flips > 0; flips--) {
        mutated[next() % mutated.length] = next() & 0xff;
      }
      let evaluator;
      try {
        evaluator = new CascadeEvaluator(withBody(userIds, mutated));
      } catch (error) {
        assert.equal(error.code, 'SNAPSHOT_CORRUPT', `case ${i}: ${error}`);
        continue;
      }
      // A mutation that still decodes must still evaluate.
      for (const key of evaluator.flagKeys) {
        evaluator.evaluateAll('tenant-a', 'alice');
        evaluator.explain('tenant-a', null, key);
      }
      evaluator.free();
    }
  });

  test('non-bytes argument is a TypeError', () => {
    for (const bad of [undefined, null, 'CSNP', 42, {}, [1, 2, 3]]) {
      assert.throws(() => new CascadeEvaluator(bad), (error) => {
        assert.ok(error instanceof TypeError, String(bad));
        assert.equal(error.code, 'INVALID_ARGUMENT');
        return true;
      });
    }
  });

  test('ArrayBuffer and DataView are accepted', () => {
    const copy = Uint8Array.from(userIds);
    assert.equal(new CascadeEvaluator(copy.buffer).revision, 3);
    assert.equal(new CascadeEvaluator(new DataView(copy.buffer)).revision, 3);
    const padded = new Uint8Array(copy.length + 10);
    padded.set(copy, 5);
    assert.equal(new CascadeEvaluator(padded.subarray(5, 5 + copy.length)).revision, 3);
  });
});

describe('revisions', () => {
  const file = corpus.results.find((result) => result.snapshots.length >= 2);
  const [older, newer] = file.snapshots;

  test('newer snapshot replaces loaded one', () => {
    const evaluator = new CascadeEvaluator(corpus.snapshot(older.file));
    assert.equal(evaluator.load(corpus.snapshot(newer.file)), true);
    assert.equal(evaluator.revision, newer.revision);
  });

  test('same revision leaves snapshot unchanged', () => {
    const evaluator = new CascadeEvaluator(corpus.snapshot(newer.file));
    assert.equal(evaluator.load(corpus.snapshot(newer.file)), false);
    assert.equal(evaluator.revision, newer.revision);
  });

  test('older snapshot is stale', () => {
    const evaluator = new CascadeEvaluator(corpus.snapshot(newer.file));
    assertCode(() => evaluator.load(corpus.snapshot(older.file)), 'SNAPSHOT_STALE', 'older');
    assert.equal(evaluator.revision, newer.revision);
  });

  test('failed load keeps loaded snapshot', () => {
    const evaluator = new CascadeEvaluator(corpus.snapshot(older.file));
    assertCode(() => evaluator.load(new Uint8Array(10)), 'SNAPSHOT_TRUNCATED', 'garbage');
    assert.equal(evaluator.revision, older.revision);
    const c = older.cases.find((x) => !('error' in x.result));
    assert.deepEqual(evaluator.evaluate(c.tenant, c.user, c.flag).value, c.result.value);
  });
});

describe('ids', () => {
  const evaluator = new CascadeEvaluator(userIds);

  test('non-string tenant is invalid context', () => {
    for (const bad of [undefined, null, 42, {}, ['tenant-a'], Symbol('t'), 1n, new String('tenant-a')]) {
      assertCode(() => evaluator.evaluate(bad, 'alice', 'greeting'), 'INVALID_CONTEXT', String(typeof bad));
      assertCode(() => evaluator.evaluateAll(bad, 'alice'), 'INVALID_CONTEXT', String(typeof bad));
      assert.equal(evaluator.getString(bad, 'alice', 'greeting', 'fallback'), 'fallback');
    }
  });

  test('non-string user is invalid context', () => {
    for (const bad of [42, {}, ['alice'], true, Symbol('u')]) {
      assertCode(() => evaluator.evaluate('tenant-a', bad, 'greeting'), 'INVALID_CONTEXT', String(typeof bad));
      assertCode(() => evaluator.explain('tenant-a', bad, 'greeting'), 'INVALID_CONTEXT', String(typeof bad));
      assert.equal(evaluator.getString('tenant-a', bad, 'greeting', 'fallback'), 'fallback');
    }
  });

  test('null and undefined user stop at tenant', () => {
    for (const user of [null, undefined]) {
      const result = evaluator.evaluate('tenant-a', user, 'greeting');
      assert.equal(result.level, 'tenant');
      assert.equal(result.value, 'tenant');
    }
    assert.equal(evaluator.evaluateAll('tenant-a')[0].level, 'tenant');
  });

  test('non-string key is flag not found', () => {
    for (const bad of [undefined, null, 7, {}, Symbol('k')]) {
      assertCode(() => evaluator.evaluate('tenant-a', 'alice', bad), 'FLAG_NOT_FOUND', String(typeof bad));
      assert.equal(evaluator.getString('tenant-a', 'alice', bad, 'fallback'), 'fallback');
    }
  });

  test('unknown and wrong-case keys are not found', () => {
    assertCode(() => evaluator.evaluate('tenant-a', 'alice', 'Greeting'), 'FLAG_NOT_FOUND', 'case');
    assertCode(() => evaluator.evaluate('tenant-a', 'alice', ''), 'FLAG_NOT_FOUND', 'empty');
    assertCode(() => evaluator.evaluate('tenant-a', 'alice', 'grüße'), 'FLAG_NOT_FOUND', 'non-ASCII');
    assert.equal(evaluator.getString('tenant-a', 'alice', 'nope', 'fallback'), 'fallback');
  });

  test('invalid tenant slugs are invalid context', () => {
    for (const bad of ['', 'Tenant-A', 'tenant a', 'é', 'a'.repeat(65)]) {
      assertCode(() => evaluator.evaluate(bad, null, 'greeting'), 'INVALID_CONTEXT', bad);
    }
    assert.equal(evaluator.evaluate('a'.repeat(64), null, 'greeting').reason, 'UNKNOWN_TENANT');
  });

  test('unicode user ids up to 256 bytes', () => {
    const cases = [
      ['é'.repeat(128), 256],
      ['😀'.repeat(64), 256],
      ['€'.repeat(85) + 'x', 256],
    ];
    for (const [user, bytes] of cases) {
      assert.equal(new TextEncoder().encode(user).length, bytes);
      assert.ok(evaluator.evaluate('tenant-a', user, 'greeting'), user);
      assertCode(() => evaluator.evaluate('tenant-a', `${user}a`, 'greeting'), 'INVALID_CONTEXT', `${user}a`);
    }
    assert.equal(evaluator.evaluate('tenant-a', 'é'.repeat(128), 'greeting').level, 'tenant');
    assert.equal(evaluator.evaluate('tenant-a', '€'.repeat(85) + 'x', 'greeting').value, '256 bytes');
  });

  test('empty user id is invalid context', () => {
    assertCode(() => evaluator.evaluate('tenant-a', '', 'greeting'), 'INVALID_CONTEXT', 'empty');
  });

  test('lone surrogates are rejected', () => {
    for (const bad of ['\uD800', 'a\uDC00b', 'x\uD83D', '\uDE00\uD83D']) {
      assertCode(() => evaluator.evaluate('tenant-a', bad, 'greeting'), 'INVALID_CONTEXT', 'user');
      assertCode(() => evaluator.evaluate(bad, 'alice', 'greeting'), 'INVALID_CONTEXT', 'tenant');
      assertCode(() => evaluator.evaluate('tenant-a', 'alice', bad), 'FLAG_NOT_FOUND', 'key');
      assertCode(() => evaluator.evaluateAll('tenant-a', bad), 'INVALID_CONTEXT', 'evaluateAll');
      assert.equal(evaluator.getBoolean('tenant-a', bad, 'greeting', 'fallback'), 'fallback');
    }
    // A well-formed pair is a normal user id.
    assert.equal(evaluator.evaluate('tenant-a', '\uD83D\uDE00', 'greeting').level, 'tenant');
  });

  test('huge ids are rejected, then evaluation goes on', () => {
    const huge = 'é'.repeat(5_000_000);
    assertCode(() => evaluator.evaluate('tenant-a', huge, 'greeting'), 'INVALID_CONTEXT', 'user');
    assertCode(() => evaluator.evaluate(huge, null, 'greeting'), 'INVALID_CONTEXT', 'tenant');
    assertCode(() => evaluator.evaluate('tenant-a', null, huge), 'FLAG_NOT_FOUND', 'key');
    assert.equal(evaluator.getString('tenant-a', huge, 'greeting', 'fallback'), 'fallback');
    assert.equal(evaluator.evaluate('tenant-a', 'alice', 'greeting').value, 'lower');
  });

  test('long ids cut at surrogate pairs', () => {
    // 299 ASCII characters then emoji: the cut must not split a pair, or
    // the error would name a lone surrogate instead of the length.
    const user = `${'a'.repeat(299)}${'😀'.repeat(10)}`;
    assert.throws(() => evaluator.evaluate('tenant-a', user, 'greeting'), (error) => {
      assert.equal(error.code, 'INVALID_CONTEXT');
      assert.match(error.message, /expected 1 to 256 bytes/);
      return true;
    });
  });

  test('error messages name the value', () => {
    assert.throws(() => evaluator.evaluate('Bad Id', null, 'greeting'), /"Bad Id"/);
    assert.throws(() => evaluator.evaluate('tenant-a', null, 'missing-flag'), /"missing-flag"/);
    assert.throws(() => evaluator.evaluate(5, null, 'greeting'), /tenant id must be a string, got number/);
  });
});

describe('typed getters', () => {
  const evaluator = new CascadeEvaluator(valueTypes);
  const tenant = 'tenant-a';

  test('getters return values of their type', () => {
    assert.equal(typeof evaluator.getBoolean(tenant, null, 'bool-flag', 'fallback'), 'boolean');
    assert.equal(typeof evaluator.getString(tenant, null, 'string-flag', 0), 'string');
    assert.equal(typeof evaluator.getNumber(tenant, null, 'int-flag', 'fallback'), 'number');
    assert.equal(typeof evaluator.getNumber(tenant, null, 'float-flag', 'fallback'), 'number');
    assert.equal(typeof evaluator.getObject(tenant, null, 'object-flag', 'fallback'), 'object');
  });

  test('getters return fallback on type mismatch', () => {
    assert.equal(evaluator.getBoolean(tenant, null, 'string-flag', 'fallback'), 'fallback');
    assert.equal(evaluator.getString(tenant, null, 'bool-flag', 'fallback'), 'fallback');
    assert.equal(evaluator.getNumber(tenant, null, 'object-flag', 'fallback'), 'fallback');
    assert.equal(evaluator.getObject(tenant, null, 'int-flag', 'fallback'), 'fallback');
  });

  test('object values are fresh plain objects', () => {
    const first = evaluator.getObject(tenant, null, 'object-flag', null);
    const second = evaluator.getObject(tenant, null, 'object-flag', null);
    assert.notEqual(first, second);
    assert.equal(Object.getPrototypeOf(first), Object.prototype);
    first.changed = true;
    assert.equal(evaluator.evaluate(tenant, null, 'object-flag').value.changed, undefined);
  });
});

describe('lifecycle', () => {
  test('use after free is an error', () => {
    const evaluator = new CascadeEvaluator(userIds);
    evaluator.free();
    evaluator.free();
    assertCode(() => evaluator.evaluate('tenant-a', null, 'greeting'), 'EVALUATOR_FREED', 'evaluate');
    assertCode(() => evaluator.load(userIds), 'EVALUATOR_FREED', 'load');
  });

  test('values survive wasm memory growth', () => {
    const evaluator = new CascadeEvaluator(userIds);
    assert.equal(evaluator.evaluate('tenant-a', 'zoë', 'greeting').value, 'zoë precomposed');
    // More evaluators grow wasm memory, which detaches every typed-array
    // view of it.
    const before = wasmMemory().buffer.byteLength;
    const others = [];
    while (wasmMemory().buffer.byteLength === before && others.length < 100_000) {
      others.push(new CascadeEvaluator(userIds));
    }
    assert.ok(wasmMemory().buffer.byteLength > before, 'wasm memory did not grow');
    assert.equal(evaluator.evaluate('tenant-a', 'zoë', 'greeting').value, 'zoë precomposed');
    assert.equal(evaluator.getString('tenant-a', '用户-42', 'greeting', null), 'cjk');
    for (const other of others) {
      assert.equal(other.getString('tenant-a', 'alice', 'greeting', null), 'lower');
      other.free();
    }
  });

  test('evaluators are independent', () => {
    const first = new CascadeEvaluator(userIds);
    const second = new CascadeEvaluator(valueTypes);
    assert.equal(first.evaluate('tenant-a', 'alice', 'greeting').value, 'lower');
    assert.deepEqual(second.flagKeys, ['bool-flag', 'float-flag', 'int-flag', 'object-flag', 'string-flag']);
    assert.equal(first.revision, 3);
    first.free();
    assert.equal(second.getBoolean('tenant-a', null, 'bool-flag', null), false);
  });
});
