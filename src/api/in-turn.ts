// One change of an object at a time, in this process: see PATCH /v1/webhooks/:id.

/**
 * inTurn runs calls with the same key one after another (others concurrently); a key's entry goes
 * when its last call ends, so the map holds only endpoints being changed right now.
 */
export function inTurn() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (tails.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return run;
  };
}
