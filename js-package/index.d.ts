// Type declarations of @cascade/evaluator, shared by the browser entry
// (`js/web.js`) and the Node entry (`js/node.js`).

/** A level of the cascade, from the most specific to the least. */
export type Level = 'user' | 'tenant' | 'integrator' | 'platform';

/**
 * The OpenFeature resolution reason:
 * - `TARGETING_MATCH`: an integrator, tenant or user override applied;
 * - `DEFAULT`: the tenant is known and no override applied, so the
 *   platform default did;
 * - `UNKNOWN_TENANT`: the tenant is not in the snapshot (it may be newer
 *   than the snapshot), so the platform default applied.
 */
export type Reason = 'DEFAULT' | 'TARGETING_MATCH' | 'UNKNOWN_TENANT';

/** The value type of a flag. `integer` and `float` both come out as numbers. */
export type FlagType = 'boolean' | 'string' | 'integer' | 'float' | 'object';

/**
 * A flag value as a plain JS value: a boolean, a string, a number, or an
 * object parsed from the flag's JSON text. Integers beyond ±(2^53 − 1)
 * lose precision, as they do in `JSON.parse`.
 */
export type FlagValue = boolean | string | number | { [key: string]: unknown };

/** The stable codes of {@link CascadeError}. */
export type ErrorCode =
  /** The bytes are not a valid snapshot: bad magic, checksum or content. */
  | 'SNAPSHOT_CORRUPT'
  /** The bytes end before the header or the body it declares. */
  | 'SNAPSHOT_TRUNCATED'
  /** The snapshot uses a format version that this package cannot read. */
  | 'SNAPSHOT_VERSION_UNSUPPORTED'
  /** The snapshot's revision is older than the loaded one. */
  | 'SNAPSHOT_STALE'
  /**
   * An id is invalid. The tenant id must be a slug of 1 to 64 characters
   * of a-z, 0-9, '-' and '_', and the user id 1 to 256 bytes of UTF-8.
   * Ids that are not strings or contain a lone surrogate are invalid too.
   */
  | 'INVALID_CONTEXT'
  /** The snapshot has no flag with this key (keys are case-sensitive). */
  | 'FLAG_NOT_FOUND'
  /** The browser entry was used before `init()` or `initSync()`. */
  | 'NOT_INITIALIZED'
  /** The evaluator was used after `free()`. */
  | 'EVALUATOR_FREED';

/** An error of the evaluator. Match on `code`; the message may change. */
export class CascadeError extends Error {
  readonly name: 'CascadeError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

/** The result of evaluating one flag. */
export interface Evaluation {
  /** The flag key. */
  key: string;
  /** The flag's value type. */
  type: FlagType;
  /** The value for this tenant and user. */
  value: FlagValue;
  /** The level that decided the value. */
  level: Level;
  /** The reason this value applies. */
  reason: Reason;
  /** The revision of the snapshot that produced the value. */
  revision: number;
}

/** One level of an explanation. */
export interface ExplainStep {
  level: Level;
  /**
   * The user, tenant or integrator id at this level, or `null` when the
   * level does not apply: no user given, unknown tenant, or a tenant
   * without an integrator. Always `null` for the platform.
   */
  scope: string | null;
  /** Whether this level has a value for the flag (the platform always has one). */
  set: boolean;
  /** The override at this level, or the default at platform level; absent when not set. */
  value?: FlagValue;
}

/** Every level of the cascade for one flag, and the resulting evaluation. */
export interface Explanation extends Evaluation {
  /** User, tenant, integrator and platform, in that order. */
  steps: [ExplainStep, ExplainStep, ExplainStep, ExplainStep];
}

/** Snapshot bytes as the edge and the control plane serve them. */
export type SnapshotBytes = Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * The source of the wasm module for {@link init}: a URL or path to fetch,
 * a `Response`, the bytes, or a compiled `WebAssembly.Module`.
 */
export type WasmSource =
  | string
  | URL
  | Request
  | Response
  | Promise<Response>
  | BufferSource
  | WebAssembly.Module;

/**
 * Fetches and instantiates the wasm module. The browser entry needs it
 * once, before the first evaluator; without `source`, it fetches
 * `cascade_js_bg.wasm` next to the bindings. Later calls do nothing. In
 * Node the module is ready on import, and this resolves at once.
 */
export function init(source?: WasmSource): Promise<void>;

/**
 * Instantiates the wasm module synchronously from its bytes or a compiled
 * module. Some browsers limit synchronous compilation of large modules
 * on the main thread, which `init()` avoids. Does nothing in Node.
 * @throws {TypeError} in the browser entry when `module` is missing.
 */
export function initSync(module: BufferSource | WebAssembly.Module): void;

/**
 * Evaluates feature flags in-process from a Cascade snapshot.
 *
 * `tenant` is a tenant slug. `user` is any UTF-8 user id of 1 to 256
 * bytes, or `null`/`undefined` to stop the cascade at the tenant level.
 * Ids are case-sensitive and compared byte for byte.
 *
 * Each evaluator owns wasm memory for its snapshot; call {@link free} (or
 * use `using`) when done, or leave it to garbage collection, which frees it
 * later. wasm memory never shrinks: after a load it stays at the peak that
 * the load needed (see the package README for sizes).
 */
export class CascadeEvaluator {
  /**
   * Decodes and loads a snapshot.
   * @throws {CascadeError} `SNAPSHOT_CORRUPT`, `SNAPSHOT_TRUNCATED` or
   *   `SNAPSHOT_VERSION_UNSUPPORTED` for invalid bytes, `NOT_INITIALIZED`
   *   when the browser entry is not initialized.
   * @throws {TypeError} with code `INVALID_ARGUMENT` when `snapshot` is not
   *   bytes.
   */
  constructor(snapshot: SnapshotBytes);

  /**
   * Replaces the loaded snapshot with a newer one and releases the old
   * one. Returns `true` when the snapshot was replaced, `false` when it had
   * the loaded revision (nothing changes). On any error the loaded snapshot
   * stays in use.
   * @throws {CascadeError} `SNAPSHOT_STALE` for an older revision, or a
   *   decoding code as in the constructor.
   */
  load(snapshot: SnapshotBytes): boolean;

  /** The loaded snapshot's revision. Revisions above 2^53 lose precision. */
  readonly revision: number;

  /** Every flag key of the loaded snapshot, in key order (frozen). */
  readonly flagKeys: readonly string[];

  /**
   * Evaluates one flag.
   * @throws {CascadeError} `FLAG_NOT_FOUND` or `INVALID_CONTEXT`.
   */
  evaluate(tenant: string, user: string | null | undefined, key: string): Evaluation;

  /**
   * Returns the value of a boolean flag, or `fallback` when the flag is
   * missing, has another type, or the ids are invalid. Never throws for
   * those cases.
   */
  getBoolean<T = boolean>(
    tenant: string,
    user: string | null | undefined,
    key: string,
    fallback: T,
  ): boolean | T;

  /** Returns the value of a string flag, or `fallback` (as {@link getBoolean}). */
  getString<T = string>(
    tenant: string,
    user: string | null | undefined,
    key: string,
    fallback: T,
  ): string | T;

  /**
   * Returns the value of an integer or float flag, or `fallback` (as
   * {@link getBoolean}).
   */
  getNumber<T = number>(
    tenant: string,
    user: string | null | undefined,
    key: string,
    fallback: T,
  ): number | T;

  /**
   * Returns the value of an object flag as a new object parsed from its
   * JSON text, or `fallback` (as {@link getBoolean}).
   */
  getObject<T = { [key: string]: unknown }>(
    tenant: string,
    user: string | null | undefined,
    key: string,
    fallback: T,
  ): { [key: string]: unknown } | T;

  /**
   * Evaluates every flag, in key order.
   * @throws {CascadeError} `INVALID_CONTEXT`.
   */
  evaluateAll(tenant: string, user?: string | null): Evaluation[];

  /**
   * Lists every level of the cascade for one flag: which apply, what each
   * holds, and which decided.
   * @throws {CascadeError} `FLAG_NOT_FOUND` or `INVALID_CONTEXT`.
   */
  explain(tenant: string, user: string | null | undefined, key: string): Explanation;

  /**
   * Releases the snapshot and the wasm memory it holds for reuse. Any
   * later call throws `EVALUATOR_FREED`; calling `free()` again does
   * nothing.
   */
  free(): void;

  /** Same as {@link free}, for `using` declarations. */
  [Symbol.dispose](): void;
}
