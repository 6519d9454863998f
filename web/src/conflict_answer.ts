// The custom conflict resolver's answer, as every engine runtime takes it:
// the app's `conflicts.resolve(input)` turned into JSON text {"value": doc},
// {"deleted": true} or {"error": message} (json_forms ConflictAnswerFromText
// reads it), used by the wasm owner and the native backend alike. It never
// throws: a resolver that throws, returns a promise or a value that is not
// JSON keeps the server's document, and the sync.conflict event says why.
import type { ConflictInput, Json } from './types.js';

export type ConflictResolve = (input: ConflictInput) => Json | null | undefined;

export function answerConflict(resolve: ConflictResolve, inputJson: string): string {
  try {
    const decided = resolve(JSON.parse(inputJson) as ConflictInput);
    if (decided !== null && typeof decided === 'object' && typeof (decided as { then?: unknown }).then === 'function') {
      return JSON.stringify({ error: 'conflicts.resolve must return the document, not a promise' });
    }
    if (decided === null || decided === undefined) return JSON.stringify({ deleted: true });
    const text = JSON.stringify({ value: decided });
    return text === undefined ? JSON.stringify({ error: 'the resolved document is not JSON' }) : text;
  } catch (error) {
    return JSON.stringify({ error: `conflicts.resolve threw: ${String((error as Error)?.message ?? error)}` });
  }
}
