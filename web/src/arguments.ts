// Checks the arguments of FerryClient's calls in the calling context, before
// they reach a backend: the wasm module (which must never see a wrong type)
// or the channel to the owning context (which cannot carry a function).
// Wrong types are TypeErrors; values the engine owns (an empty collection
// name, a patch that is not an object) are checked by the engine and
// reported as FerryError "invalid_argument".
import { describe } from './options.js';
import { FerryError, type SyncDirection, type SyncNowOptions, type SyncReason, type Write } from './types.js';

const syncReasons = new Set<unknown>(['manual', 'background_sync', 'poke', 'app_start']);
const syncDirections = new Set<unknown>(['both', 'push', 'pull']);

/** syncNow's argument: a reason, or { reason, direction }; defaults "manual" and "both". */
export function requireSyncRequest(request: unknown): { reason: SyncReason; direction: SyncDirection } {
  const options = typeof request === 'string' ? { reason: request } : request;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`syncNow takes a reason or { reason, direction }, got ${describe(request)}`);
  }
  const { reason = 'manual', direction = 'both' } = options as SyncNowOptions;
  if (!syncReasons.has(reason)) {
    throw new TypeError(`reason must be "manual", "background_sync", "poke" or "app_start", got ${describe(reason)}`);
  }
  if (!syncDirections.has(direction)) {
    throw new TypeError(`direction must be "push", "pull" or "both", got ${describe(direction)}`);
  }
  return { reason, direction };
}

export function requireString(value: unknown, name: string): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  return value;
}

export function requireBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

export function requirePositiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value > 0)) {
    throw new TypeError(`${name} must be a positive number, got ${describe(value)}`);
  }
  return value;
}

/** A count where 0 means "no limit". */
export function requireLimit(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || !(value >= 0)) {
    throw new TypeError(`${name} must be a non-negative number, got ${describe(value)}`);
  }
  return value;
}

/** The sequence number of a failed mutation. */
export function requireSeq(value: unknown, name = 'seq'): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

export function requireFunction<F>(value: F, name: string): F {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  return value;
}

/** The shape of a batch; the values are checked when they are serialized. */
export function requireWrites(writes: unknown): Write[] {
  if (!Array.isArray(writes)) throw new TypeError(`writes must be an array, got ${describe(writes)}`);
  for (const [i, write] of (writes as unknown[]).entries()) {
    if (typeof write !== 'object' || write === null) throw new TypeError(`writes[${i}] must be an object, got ${describe(write)}`);
    const { op, collection, key, value } = write as Record<string, unknown>;
    if (op !== 'put' && op !== 'patch' && op !== 'delete') throw new TypeError(`writes[${i}].op must be put, patch or delete`);
    requireWrite(op, collection, key, value, `writes[${i}].`);
  }
  return writes as Write[];
}

/**
 * One write, as put, patch and remove pass it (their errors name their own
 * arguments: `key`, not `writes[0].key`) and as each item of a batch is
 * checked (`prefix` "writes[i].").
 */
export function requireWrite(op: Write['op'], collection: unknown, key: unknown, value: unknown, prefix = ''): Write {
  requireString(collection, `${prefix}collection`);
  requireString(key, `${prefix}key`);
  if (op === 'put' && value === undefined) throw new TypeError(`${prefix}value is required for put`);
  return { op, collection, key, value } as Write;
}

/** How deep a written value may nest: core's kMaxValueDepth (model.h). */
const maxValueDepth = 32;

/** JSON text of a batch for the module (see serializeValues). */
export function serializeWrites(writes: readonly Write[]): string {
  return serializeValues(writes, writes.map((write) => write.value));
}

/**
 * JSON text of `carrier`, which holds the written `values`, or a TypeError
 * naming what could not be serialized. A value deep enough to overflow
 * JSON.stringify's stack (V8's RangeError, Firefox's InternalError; a cycle
 * or a bigint is a TypeError) gets the module's own error for a value
 * nesting too deep, so every depth past the limit reads the same.
 */
/** A query's JSON text; its shape is checked by the engine (invalid_argument). */
export function queryText(query: unknown): string {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new TypeError(`the query must be an object, got ${describe(query)}`);
  }
  requireString((query as { collection?: unknown }).collection, 'query.collection');
  try {
    return JSON.stringify(query);
  } catch (error) {
    throw new TypeError(`the query is not JSON: ${(error as Error).message}`);
  }
}

export function serializeValues(carrier: unknown, values: readonly unknown[]): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(carrier);
  } catch (error) {
    if (!(error instanceof TypeError) && nestsTooDeep(values)) {
      throw new FerryError('too_large', `value nests deeper than ${maxValueDepth} levels`);
    }
    throw new TypeError(`the written value is not JSON-serializable: ${(error as Error).message}`);
  }
  if (text === undefined) throw new TypeError('the written value is not JSON-serializable');
  return text;
}

/** Whether a written value nests deeper than maxValueDepth; iterative, as the stack may be what ran out. */
function nestsTooDeep(values: readonly unknown[]): boolean {
  const pending: { value: unknown; depth: number }[] = values.map((value) => ({ value, depth: 1 }));
  while (pending.length > 0) {
    const { value, depth } = pending.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > maxValueDepth) return true;
    for (const member of Object.values(value)) pending.push({ value: member, depth: depth + 1 });
  }
  return false;
}
