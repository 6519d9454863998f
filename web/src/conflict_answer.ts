// The custom conflict resolver's answer, as every engine runtime takes it:
// the app's `conflicts.resolve(input)` turned into JSON text {"value": doc},
// {"deleted": true}, {"deferred": true} or {"error": message} (json_forms
// ConflictAnswerFromText reads it), used by the wasm owner and the native
// backend alike. It never throws: a resolver that throws or returns a value
// that is not JSON keeps the server's document, and the sync.conflict event
// says why.
//
// A resolver that returns a promise defers: the engine keeps the conflict
// open (conflicts() lists it) and `settle` resolves it with the promise's
// value once it comes, through the same resolveConflict an app would call.
// The engine cannot wait for the promise inside its commit, and the record
// it keeps meanwhile survives a reload that loses the promise.
import { serializeValues } from './arguments.js';
import type { ForwardedCalls } from './backend.js';
import { callLog } from './options.js';
import type { CommonOpenOptions, ConflictInput, Json } from './types.js';

export type ConflictResolve = (input: ConflictInput) => Json | null | undefined | PromiseLike<Json | null | undefined>;

/** Resolves an open conflict (the backend's resolveConflict); `fail` hears why it could not. */
export interface ConflictSettler {
  settle(collection: string, key: string, value: Json | null): Promise<void>;
  fail(message: string): void;
}

/** The settler of a backend: its own resolveConflict; failures go to the log option, else the console. */
export function conflictSettler(backend: Pick<ForwardedCalls, 'resolveConflict'>, log: CommonOpenOptions['log']): ConflictSettler {
  return {
    settle: (collection, key, value) => backend.resolveConflict(collection, key, serializeValues(value, [value])),
    fail: (message) => (log ? callLog(log, 2, message) : console.warn(`ferry-sync: ${message}`)),
  };
}

export function answerConflict(resolve: ConflictResolve, inputJson: string, settler: ConflictSettler): string {
  try {
    const input = JSON.parse(inputJson) as ConflictInput;
    const decided = resolve(input);
    if (decided !== null && typeof decided === 'object' && typeof (decided as { then?: unknown }).then === 'function') {
      settleLater(decided as PromiseLike<Json | null | undefined>, input, settler);
      return '{"deferred":true}';
    }
    if (decided === null || decided === undefined) return JSON.stringify({ deleted: true });
    const text = JSON.stringify({ value: decided });
    return text === undefined ? JSON.stringify({ error: 'the resolved document is not JSON' }) : text;
  } catch (error) {
    return JSON.stringify({ error: `conflicts.resolve threw: ${message(error)}` });
  }
}

function settleLater(answer: PromiseLike<Json | null | undefined>, input: ConflictInput, settler: ConflictSettler): void {
  const where = `${input.collection}/${input.key}`;
  // The conflict stays open (and listed) when the promise rejects or its
  // value cannot be written: the app can still resolve it by hand.
  Promise.resolve(answer)
    .then((value) => settler.settle(input.collection, input.key, value ?? null))
    .catch((error: unknown) => settler.fail(`conflicts.resolve for ${where} did not settle; the conflict stays open: ${message(error)}`));
}

function message(error: unknown): string {
  return String((error as Error)?.message ?? error);
}
