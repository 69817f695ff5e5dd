// The CascadeEvaluator class over the wasm engine, shared by the browser
// and Node entry points, which pass in their own wasm-bindgen bindings.
//
// Hot-path calls cross the JS/wasm boundary once, with numbers only. The
// ids are written as UTF-8 straight into the engine's input buffer. The
// result comes back as a status word plus value slots, which are read
// through typed-array views of wasm memory. The record layout is documented in
// js-package/src/output.rs; the constants below must match it.

const TYPE_MASK = 0b111;
const TYPE_BOOLEAN = 1;
const TYPE_STRING = 2;
const TYPE_INTEGER = 3;
const TYPE_FLOAT = 4;
const TYPE_OBJECT = 5;
const LEVEL_SHIFT = 3;
const REASON_SHIFT = 5;
const BOOLEAN_TRUE = 1 << 7;
const WORDS_PER_RECORD = 3;

const LOAD_FAILED = 0;
const LOAD_REPLACED = 1;

const TYPES = [undefined, 'boolean', 'string', 'integer', 'float', 'object'];
const LEVELS = ['user', 'tenant', 'integrator', 'platform'];
const REASONS = ['DEFAULT', 'TARGETING_MATCH', 'UNKNOWN_TENANT'];

// Ids are cut to this many UTF-16 code units before they are written. A
// valid id is at most 256 bytes of UTF-8, so at most 256 code units, and a
// cut id still breaks the limits and gets the same error. So a huge string
// is never copied into wasm memory.
const MAX_ID_UNITS = 300;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** An error of the evaluator, with a stable `code`. */
export class CascadeError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'CascadeError';
    this.code = code;
  }
}

/**
 * Defines the CascadeEvaluator class over one wasm-bindgen build.
 *
 * `Engine` is the exported Rust engine class, `wasmMemory()` returns the
 * module's WebAssembly.Memory, and `assertReady()` throws when the module is
 * not instantiated yet.
 */
export function defineEvaluator({ Engine, wasmMemory, assertReady }) {
  // Views of the whole wasm memory, shared by every evaluator of this
  // module. Growing the memory detaches them (byteLength becomes 0), so
  // they are checked before each read or write.
  let memory = null;
  let bytes = new Uint8Array(0);
  let words = new Uint32Array(0);
  let numbers = new Float64Array(0);

  function refreshViews() {
    if (bytes.byteLength !== 0) {
      return;
    }
    memory ??= wasmMemory();
    bytes = new Uint8Array(memory.buffer);
    words = new Uint32Array(memory.buffer);
    numbers = new Float64Array(memory.buffer);
  }

  // Writes `text` as UTF-8 at `at`, with room up to `end`. Returns the byte
  // count, or -1 when the text contains a lone surrogate, which has no UTF-8
  // form. ASCII is copied by hand: for short ids it is faster than
  // TextEncoder.encodeInto, which takes over at the first other character.
  function writeUtf8(text, at, end) {
    const length = text.length;
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) {
        break;
      }
      bytes[at + i] = code;
    }
    if (i === length) {
      return length;
    }
    if (!text.isWellFormed()) {
      return -1;
    }
    const { written } = encoder.encodeInto(text.slice(i), bytes.subarray(at + i, end));
    return i + written;
  }

  class CascadeEvaluator {
    #engine;
    #revision = 0;
    #keys = Object.freeze([]);
    // Decoded string and object texts by their address in wasm memory.
    // Texts live as long as the snapshot, so the cache is cleared on load.
    #texts = new Map();
    #inputAt = 0;
    #inputEnd = 0;
    #wordsAt = 0;
    #numbersAt = 0;
    #tenantLength = 0;
    #userLength = -1;
    #keyLength = 0;
    // An error found on the JS side before the call (wrong id type, lone
    // surrogate), thrown in place of the engine's error.
    #error = null;

    constructor(snapshot) {
      assertReady();
      const data = toBytes(snapshot);
      this.#engine = new Engine();
      try {
        this.#load(data);
      } catch (error) {
        this.free();
        throw error;
      }
    }

    load(snapshot) {
      return this.#load(toBytes(snapshot));
    }

    get revision() {
      return this.#revision;
    }

    get flagKeys() {
      return this.#keys;
    }

    evaluate(tenant, user, key) {
      const status = this.#evaluate(tenant, user, key);
      if (status === 0) {
        throw this.#takeError();
      }
      return this.#result(0, status, key);
    }

    getBoolean(tenant, user, key, fallback) {
      const status = this.#evaluate(tenant, user, key);
      if ((status & TYPE_MASK) !== TYPE_BOOLEAN) {
        this.#error = null;
        return fallback;
      }
      return (status & BOOLEAN_TRUE) !== 0;
    }

    getString(tenant, user, key, fallback) {
      const status = this.#evaluate(tenant, user, key);
      if ((status & TYPE_MASK) !== TYPE_STRING) {
        this.#error = null;
        return fallback;
      }
      return this.#text(0);
    }

    getNumber(tenant, user, key, fallback) {
      const status = this.#evaluate(tenant, user, key);
      const type = status & TYPE_MASK;
      if (type !== TYPE_INTEGER && type !== TYPE_FLOAT) {
        this.#error = null;
        return fallback;
      }
      return numbers[this.#numbersAt];
    }

    getObject(tenant, user, key, fallback) {
      const status = this.#evaluate(tenant, user, key);
      if ((status & TYPE_MASK) !== TYPE_OBJECT) {
        this.#error = null;
        return fallback;
      }
      return JSON.parse(this.#text(0));
    }

    evaluateAll(tenant, user) {
      const engine = this.#live();
      if (!this.#write(tenant, user, '', false)) {
        throw this.#takeError();
      }
      const ok = engine.evaluate_all(this.#tenantLength, this.#userLength);
      this.#afterCall();
      if (ok === 0) {
        throw this.#takeError();
      }
      const keys = this.#keys;
      const results = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) {
        const status = words[this.#wordsAt + i * WORDS_PER_RECORD];
        results[i] = this.#result(i, status, keys[i]);
      }
      return results;
    }

    explain(tenant, user, key) {
      const engine = this.#live();
      if (!this.#write(tenant, user, key, true)) {
        throw this.#takeError();
      }
      const ok = engine.explain(this.#tenantLength, this.#userLength, this.#keyLength);
      this.#afterCall();
      if (ok === 0) {
        throw this.#takeError();
      }
      return JSON.parse(engine.take_text());
    }

    free() {
      if (this.#engine) {
        this.#engine.free();
        this.#engine = null;
        this.#texts.clear();
      }
    }

    #load(data) {
      const engine = this.#live();
      const status = engine.load(data);
      if (status === LOAD_FAILED) {
        throw engineError(engine);
      }
      if (status !== LOAD_REPLACED) {
        return false;
      }
      const keys = engine.flag_keys();
      this.#revision = engine.revision();
      this.#keys = Object.freeze(keys === '' ? [] : keys.split('\n'));
      this.#texts.clear();
      this.#wordsAt = engine.words_ptr() >>> 2;
      this.#numbersAt = engine.numbers_ptr() >>> 3;
      this.#locateInput();
      return true;
    }

    #live() {
      if (!this.#engine) {
        throw new CascadeError(
          'EVALUATOR_FREED',
          'this evaluator was freed; create a new CascadeEvaluator',
        );
      }
      return this.#engine;
    }

    #locateInput() {
      this.#inputAt = this.#engine.input_ptr();
      this.#inputEnd = this.#inputAt + this.#engine.input_capacity();
    }

    // Evaluates one flag into record 0; returns the status word, 0 on
    // failure.
    #evaluate(tenant, user, key) {
      const engine = this.#live();
      if (!this.#write(tenant, user, key, true)) {
        return 0;
      }
      const status = engine.evaluate(this.#tenantLength, this.#userLength, this.#keyLength);
      this.#afterCall();
      return status;
    }

    // Checks the ids and writes them into the input buffer. Returns false
    // and keeps the error when an id cannot be passed.
    #write(tenant, user, key, withKey) {
      this.#error = null;
      if (typeof tenant !== 'string') {
        this.#error = typeError('tenant id', 'a string', tenant);
        return false;
      }
      const hasUser = typeof user === 'string';
      if (!hasUser && user !== null && user !== undefined) {
        this.#error = typeError('user id', 'a string, null or undefined', user);
        return false;
      }
      if (typeof key !== 'string') {
        this.#error = new CascadeError(
          'FLAG_NOT_FOUND',
          `flag key must be a string, got ${describe(key)}`,
        );
        return false;
      }

      tenant = clip(tenant);
      user = hasUser ? clip(user) : user;
      key = clip(key);
      // UTF-8 takes at most 3 bytes per UTF-16 code unit.
      const bound = 3 * (tenant.length + (hasUser ? user.length : 0) + key.length);
      if (bound > this.#inputEnd - this.#inputAt) {
        this.#engine.reserve_input(bound);
        this.#locateInput();
      }
      refreshViews();

      const end = this.#inputEnd;
      let at = this.#inputAt;
      const tenantLength = writeUtf8(tenant, at, end);
      if (tenantLength < 0) {
        this.#error = surrogateError('tenant id', tenant, 'INVALID_CONTEXT');
        return false;
      }
      at += tenantLength;
      let userLength = -1;
      if (hasUser) {
        userLength = writeUtf8(user, at, end);
        if (userLength < 0) {
          this.#error = surrogateError('user id', user, 'INVALID_CONTEXT');
          return false;
        }
        at += userLength;
      }
      let keyLength = 0;
      if (withKey) {
        keyLength = writeUtf8(key, at, end);
        if (keyLength < 0) {
          this.#error = surrogateError('flag key', key, 'FLAG_NOT_FOUND');
          return false;
        }
      }
      this.#tenantLength = tenantLength;
      this.#userLength = userLength;
      this.#keyLength = keyLength;
      return true;
    }

    // The call may have grown wasm memory, which detaches the views.
    #afterCall() {
      refreshViews();
    }

    #takeError() {
      const error = this.#error ?? engineError(this.#engine);
      this.#error = null;
      return error;
    }

    #result(index, status, key) {
      return {
        key,
        type: TYPES[status & TYPE_MASK],
        value: this.#value(index, status),
        level: LEVELS[(status >>> LEVEL_SHIFT) & 0b11],
        reason: REASONS[(status >>> REASON_SHIFT) & 0b11],
        revision: this.#revision,
      };
    }

    #value(index, status) {
      switch (status & TYPE_MASK) {
        case TYPE_BOOLEAN:
          return (status & BOOLEAN_TRUE) !== 0;
        case TYPE_STRING:
          return this.#text(index);
        case TYPE_OBJECT:
          return JSON.parse(this.#text(index));
        default:
          return numbers[this.#numbersAt + index];
      }
    }

    #text(index) {
      const at = this.#wordsAt + index * WORDS_PER_RECORD;
      const address = words[at + 1];
      let text = this.#texts.get(address);
      if (text === undefined) {
        const length = words[at + 2];
        text = decoder.decode(bytes.subarray(address, address + length));
        this.#texts.set(address, text);
      }
      return text;
    }
  }

  if (typeof Symbol.dispose === 'symbol') {
    CascadeEvaluator.prototype[Symbol.dispose] = function dispose() {
      this.free();
    };
  }

  return CascadeEvaluator;
}

function clip(text) {
  if (text.length <= MAX_ID_UNITS) {
    return text;
  }
  // Cutting between the two halves of a surrogate pair would leave a lone
  // surrogate, which has another error.
  const last = text.charCodeAt(MAX_ID_UNITS - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? MAX_ID_UNITS - 1 : MAX_ID_UNITS;
  return text.slice(0, end);
}

function toBytes(snapshot) {
  if (snapshot instanceof Uint8Array) {
    return snapshot;
  }
  if (ArrayBuffer.isView(snapshot)) {
    return new Uint8Array(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
  }
  const tag = Object.prototype.toString.call(snapshot);
  if (tag === '[object ArrayBuffer]' || tag === '[object SharedArrayBuffer]') {
    return new Uint8Array(snapshot);
  }
  const error = new TypeError(
    `snapshot must be a Uint8Array or an ArrayBuffer, got ${describe(snapshot)}`,
  );
  error.code = 'INVALID_ARGUMENT';
  throw error;
}

function engineError(engine) {
  return new CascadeError(engine.error_code(), engine.error_message());
}

function typeError(idName, expected, value) {
  return new CascadeError('INVALID_CONTEXT', `${idName} must be ${expected}, got ${describe(value)}`);
}

function surrogateError(idName, text, code) {
  const quoted = JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
  return new CascadeError(
    code,
    `invalid ${idName} ${quoted}: it contains a lone surrogate, which has no UTF-8 form; ` +
      'pass well-formed Unicode text',
  );
}

function describe(value) {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'an array';
  }
  return typeof value;
}
