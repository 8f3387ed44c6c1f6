/** Handles left behind by a probe: what is open now that was not before. */

/** Handles that keep the event loop alive, by kind. */
export function activeHandles(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => kind !== 'TTYWrap')
    .sort();
}

/** Handles in `after` beyond those in `before` (a multiset difference). */
export function added(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((kind) => {
    const index = left.indexOf(kind);
    if (index < 0) return true;
    left.splice(index, 1);
    return false;
  });
}

/**
 * Waits, without adding a timer of its own, until no handle beyond `before` is left (closing sockets release
 * theirs over a few turns of the loop, and a fixture's side closes once it sees ours close), at most `ms`.
 */
export async function handlesLeft(before: string[], ms = 2000): Promise<string[]> {
  const until = performance.now() + ms;
  while (performance.now() < until && added(before, activeHandles()).length > 0) {
    await new Promise((resolve) => setImmediate(resolve));
  }
  return added(before, activeHandles());
}
