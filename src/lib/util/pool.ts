/** Run `fn` over items with at most `limit` in flight; rejects with the first error after all settle. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let firstError: unknown;
  let failed = false;
  async function worker(): Promise<void> {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (err) {
        if (!failed) firstError = err;
        failed = true;
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker));
  if (failed) throw firstError;
  return results;
}
