// The app's hooks (the `hooks` open option) as every engine runtime asks
// them: which ones there are, as the engine's HookPoint bits, and each
// answer turned into the JSON text hook_forms.h reads ({"keep": true},
// {"value": v}, {"refuse": reason} or {"error": message}). Used by the wasm
// owner and the native backend alike, so both answer the same way. It never
// throws: a hook that throws or answers wrongly is an error answer, which
// fails the run and loses nothing.
import type { SyncHooks } from './types.js';

// platform/include/ferry/hook_forms.h HookPoint (FERRY_HOOK_* in the C API).
const bits: Record<keyof SyncHooks, number> = { beforePush: 1, afterPull: 2, beforeRun: 4 };

/** The HookPoint bits of the hooks given (0: none). */
export function hookPoints(hooks: SyncHooks | undefined): number {
  let points = 0;
  for (const [name, bit] of Object.entries(bits)) {
    if (typeof hooks?.[name as keyof SyncHooks] === 'function') points |= bit;
  }
  return points;
}

/** Asks the hook at `point` with the engine's input; returns the answer's JSON text. */
export function answerHook(hooks: SyncHooks, point: number, inputJson: string): string {
  const name = (Object.keys(bits) as (keyof SyncHooks)[]).find((key) => bits[key] === point);
  const hook = name && (hooks[name] as ((input: unknown) => unknown) | undefined);
  if (!hook) return error(`no hook for point ${point}`);
  try {
    const answer = hook(JSON.parse(inputJson));
    if (typeof (answer as { then?: unknown } | null)?.then === 'function') {
      return error(`hooks.${name} returned a promise; hooks answer synchronously`);
    }
    if (name === 'beforeRun') return answer === false ? '{"refuse":"postponed"}' : '{"keep":true}';
    return writeAnswer(name, answer);
  } catch (thrown) {
    return error(`hooks.${name} threw: ${String((thrown as Error)?.message ?? thrown)}`);
  }
}

function writeAnswer(name: string, answer: unknown): string {
  if (answer === undefined) return '{"keep":true}';
  if (typeof answer === 'object' && answer !== null && !Array.isArray(answer)) {
    if ('refuse' in answer) return JSON.stringify({ refuse: String(answer.refuse) });
    // A value that is not JSON (undefined, a function) would vanish from the text.
    const text = 'value' in answer ? JSON.stringify({ value: answer.value }) : '{}';
    if (text !== '{}') return text;
  }
  return error(`hooks.${name} must return nothing, { value } or { refuse: reason }`);
}

function error(message: string): string {
  return JSON.stringify({ error: message });
}
