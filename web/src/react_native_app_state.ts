// A sync when a React Native app comes back to the foreground. While an app
// is in the background its process may be suspended at any moment (iOS
// suspends it within seconds, Android when it needs the memory): requests
// in flight and the live stream die, and the server's changes pile up.
// Coming back, the app shows its data at once, so that is when to sync,
// without waiting for a retry's backoff or the next interval.
//
// Only "active" after "background" counts: "inactive" alone (iOS: a call
// coming in, the app switcher, Control Centre) never stopped anything.
//
// Threading: the JS event loop.

/** What this needs of React Native's AppState (a test passes its own). */
export interface AppStateSource {
  readonly currentState: string | null;
  addEventListener(type: 'change', listener: (state: string) => void): { remove(): void };
}

/** Calls `sync` each time the app comes back from the background; returns the unsubscribe. */
export function syncOnResume(appState: AppStateSource, sync: () => void): () => void {
  let wasInBackground = appState.currentState === 'background';
  const subscription = appState.addEventListener('change', (state) => {
    if (state === 'background') wasInBackground = true;
    if (state !== 'active' || !wasInBackground) return;
    wasInBackground = false;
    sync();
  });
  return () => subscription.remove();
}
