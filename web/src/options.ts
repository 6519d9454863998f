// Checks the options of FerryClient.open before anything reaches the wasm
// module (a wrong type there would be an exception thrown inside the module,
// not a clear error), and fills in the defaults.
//
// Types are checked here and reported as TypeError naming the option. Values
// the engine owns (e.g. a conflict strategy's name) are checked by the engine
// and reported as FerryError "invalid_argument".
import { isNode } from './module.js';
import type { CommonOpenOptions, OpenOptions, StorageKind, StoreLocation } from './types.js';

/** Where a store lives, with the default storage applied; `directory` is set with "node". */
export interface ResolvedStorage {
  storage: StorageKind;
  directory?: string;
}

/** The options with every default applied, as the backends use them. */
export interface ResolvedOptions extends CommonOpenOptions, ResolvedStorage {
  autoSync: boolean;
  liveUpdates: boolean;
  requestTimeoutMs: number;
  gzipAboveBytes: number;
  storeLockTimeoutMs: number;
  followNetworkEvents: boolean;
  shareAcrossContexts: boolean;
  backgroundSync: boolean;
}

export function checkOpenOptions(options: unknown): ResolvedOptions {
  const checked = checkObject<OpenOptions>(options, openOptionChecks);
  const autoSync = checked.autoSync ?? true;
  return {
    ...checked,
    ...resolveStorage(checked),
    autoSync,
    liveUpdates: checked.liveUpdates ?? autoSync,
    requestTimeoutMs: checked.requestTimeoutMs ?? 30_000,
    gzipAboveBytes: checked.gzipAboveBytes ?? 1024,
    storeLockTimeoutMs: checked.storeLockTimeoutMs ?? 0,
    followNetworkEvents: checked.followNetworkEvents ?? true,
    shareAcrossContexts: checked.shareAcrossContexts ?? true,
    backgroundSync: checked.backgroundSync ?? true,
  };
}

export function checkStoreLocation(location: unknown): Pick<CommonOpenOptions, 'name' | 'wasmBinary' | 'implementation'> & ResolvedStorage {
  const checked = checkObject<StoreLocation>(location, {
    name: openOptionChecks.name,
    storage: openOptionChecks.storage,
    directory: openOptionChecks.directory,
    wasmBinary: openOptionChecks.wasmBinary,
    implementation: openOptionChecks.implementation,
  });
  return { ...checked, ...resolveStorage(checked) };
}

/**
 * The storage with its default, which in Node is files: those need a
 * directory whether "node" was named or is the default.
 */
function resolveStorage(options: { storage?: StorageKind; directory?: string }): ResolvedStorage {
  const storage = options.storage ?? (isNode ? 'node' : 'indexeddb');
  if (storage === 'node' && options.directory === undefined) {
    throw new TypeError(
      options.storage === 'node'
        ? 'options.directory must be a string with storage "node"'
        : 'options.directory must be a string with storage "node" (the default in Node; "memory" keeps nothing)',
    );
  }
  return { storage, directory: options.directory };
}

// ---------------------------------------------------------------- checks

/** Throws a TypeError naming `name` when `value` is not what it must be. */
type Check = (value: unknown, name: string) => void;

// One check per option: the mapped type makes a new option without a check a
// compile error.
const openOptionChecks: { [Option in keyof Required<OpenOptions>]: Check } = {
  name: (value, name) => {
    required(isString, 'a string')(value, name);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(value as string)) {
      throw new TypeError(`${name} must be 1 to 64 characters of [A-Za-z0-9_-], got ${describe(value)}`);
    }
  },
  endpoint: required(isHttpUrl, 'an absolute http(s) URL such as "https://sync.example.com"'),
  getToken: optional(isFunction, 'a function'),
  storage: optional((value) => value === 'indexeddb' || value === 'node' || value === 'memory', '"indexeddb", "node" or "memory"'),
  directory: optional(isString, 'a string'),
  autoSync: optional(isBoolean, 'a boolean'),
  intervalMs: optional(isPositiveNumber, 'a positive number of milliseconds'),
  requestTimeoutMs: optional(isPositiveNumber, 'a positive number of milliseconds'),
  maxAttempts: optional((value) => isNonNegativeInteger(value) && (value as number) > 0 && (value as number) <= 0xffffffff, 'a positive whole number of attempts'),
  deadLetterMaxAgeMs: optional((value) => isNonNegativeInteger(value) && (value as number) > 0, 'a positive whole number of milliseconds'),
  gzipAboveBytes: optional(isNonNegativeNumber, 'a non-negative number of bytes'),
  backoffBaseMs: optional(isPositiveCount, 'a positive whole number of milliseconds'),
  backoffMaxMs: optional(isPositiveCount, 'a positive whole number of milliseconds'),
  pushBatchSize: optional(isPositiveCount, 'a positive whole number of writes'),
  pushBatchBytes: optional(isPositiveCount, 'a positive whole number of bytes'),
  pullPageSize: optional(isPositiveCount, 'a positive whole number of changes'),
  historyLimit: optional(isPositiveCount, 'a positive whole number of runs'),
  conflictLogLimit: optional((value) => isNonNegativeInteger(value) && (value as number) <= 0xffffffff, 'a whole number of entries from 0 to 2^32 - 1'),
  log: optional(isFunction, 'a function (level, message)'),
  uploadOnly: optional(isStringArray, 'an array of collection names'),
  deferrable: optional(isStringArray, 'an array of collection names'),
  // Each declaration's members are the core's to check (IndexesFromJson).
  indexes: optional((value) => Array.isArray(value) && value.every((item) => typeof item === 'object' && item !== null && !Array.isArray(item)), 'an array of index declarations ({ collection, paths, name? })'),
  pullCollections: optional(isStringArray, 'an array of collection names'),
  retention: (value, name) => {
    if (value === undefined) return;
    const rules = checkObject<Record<string, unknown>>(value, {}, name);
    for (const [collection, rule] of Object.entries(rules)) {
      checkObject(rule, {
        maxAgeMs: optional(isNonNegativeInteger, 'a non-negative whole number of milliseconds'),
        // Every runtime reads a count as 32 bits (web_client.cc, the addon).
        maxCount: optional((value) => isNonNegativeInteger(value) && (value as number) <= 0xffffffff, 'a whole number of documents from 0 to 2^32 - 1'),
      }, `${name}.${collection}`);
    }
  },
  headers: (value, name) => {
    if (value === undefined) return;
    // Names and values as strings here; which headers are allowed is the
    // engine host's one rule (CheckCustomHeaders), reported at open.
    const headers = checkObject<Record<string, unknown>>(value, {}, name);
    for (const [header, headerValue] of Object.entries(headers)) {
      if (typeof headerValue !== 'string') {
        throw new TypeError(`${name}[${JSON.stringify(header)}] must be a string, got ${describe(headerValue)}`);
      }
    }
  },
  storeLockTimeoutMs: optional(isNonNegativeInteger, 'a non-negative whole number of milliseconds'),
  wasmBinary: optional((value) => value instanceof ArrayBuffer || value instanceof Uint8Array, 'an ArrayBuffer or a Uint8Array'),
  followNetworkEvents: optional(isBoolean, 'a boolean'),
  shareAcrossContexts: optional(isBoolean, 'a boolean'),
  backgroundSync: optional(isBoolean, 'a boolean'),
  liveUpdates: optional(isBoolean, 'a boolean'),
  implementation: optional((value) => value === 'native' || value === 'wasm', '"native" or "wasm"'),
  conflicts: (value, name) => {
    if (value === undefined) return;
    checkObject(value, {
      default: optional(isString, 'a string (a strategy name)'),
      collections: (collections, collectionsName) => {
        if (collections === undefined) return;
        const strategies = checkObject<Record<string, unknown>>(collections, {}, collectionsName);
        for (const [collection, strategy] of Object.entries(strategies)) {
          required(isString, 'a string (a strategy name)')(strategy, `${collectionsName}.${collection}`);
        }
      },
      resolve: optional(isFunction, 'a function'),
    }, name);
  },
  hooks: (value, name) => {
    if (value === undefined) return;
    checkObject(value, {
      beforePush: optional(isFunction, 'a function'),
      afterPull: optional(isFunction, 'a function'),
      beforeRun: optional(isFunction, 'a function'),
    }, name);
  },
};

/**
 * Checks that `value` is a plain object and runs the check of each named
 * field on it (fields without a check are left alone).
 */
function checkObject<T>(value: unknown, checks: { [field: string]: Check }, name = 'options'): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  const fields = value as Record<string, unknown>;
  for (const [field, check] of Object.entries(checks)) check(fields[field], `${name}.${field}`);
  return value as T;
}

function required(test: (value: unknown) => boolean, expected: string): Check {
  return (value, name) => {
    if (!test(value)) throw new TypeError(`${name} must be ${expected}, got ${describe(value)}`);
  };
}

function optional(test: (value: unknown) => boolean, expected: string): Check {
  return (value, name) => {
    if (value !== undefined && !test(value)) throw new TypeError(`${name} must be ${expected}, got ${describe(value)}`);
  };
}

function isString(value: unknown): boolean {
  return typeof value === 'string';
}
/**
 * Checked here because a wrong endpoint otherwise fails only at the first
 * sync, looking like a network outage retried forever: "sync.example.com"
 * (no scheme) would resolve against the page, or fail to fetch in Node.
 */
function isHttpUrl(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;  // not absolute (no base is given) or not a URL
  }
}
/**
 * The `retention` option as the engines read it (web_client.cc, the native
 * bindings): one rule per collection, 0 for a bound left out.
 */
export function retentionRules(retention: CommonOpenOptions['retention']): { collection: string; maxAgeMs: number; maxCount: number }[] {
  return Object.entries(retention ?? {}).map(([collection, rule]) => ({ collection, maxAgeMs: rule.maxAgeMs ?? 0, maxCount: rule.maxCount ?? 0 }));
}

/**
 * Prints, once per client (the backends' open calls it), the warning the
 * engine host gives for a plain http:// endpoint to a host that is not
 * loopback (CleartextEndpointWarning in engine_host.h, asked of the wasm
 * module or the native binding, so the rule is written once); "" is none.
 * A web page has no log hook to hand it to: the console is where a
 * developer sees it.
 */
export function printEndpointWarning(warning: string): void {
  if (warning) console.warn(`ferry-sync: ${warning}`);
}
/**
 * Hands a log line of the engine host to the app's `log` option. A hook
 * that throws is reported on the console rather than thrown back into the
 * engine, whose call it interrupts.
 */
export function callLog(log: CommonOpenOptions['log'], level: number, message: string): void {
  if (!log) return;
  try {
    log(level as 0 | 1 | 2 | 3, message);
  } catch (error) {
    console.error('ferry-sync: the log option threw', error);
  }
}
function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every(isString);
}
function isBoolean(value: unknown): boolean {
  return typeof value === 'boolean';
}
function isFunction(value: unknown): boolean {
  return typeof value === 'function';
}
function isPositiveNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
function isNonNegativeNumber(value: unknown): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
function isNonNegativeInteger(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
/** A whole number from 1 to 2^32 - 1: within every binding's integer type, so no value wraps. */
function isPositiveCount(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) > 0 && (value as number) <= 0xffffffff;
}

/** How a wrong value is shown in an error: its type, and the value where short. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
