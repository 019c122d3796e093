// A bounded map that keeps the entries used most recently: what a hot path
// remembers between requests (keys loaded into OpenSSL, points already found
// on the curve) without growing with every key it ever sees. A JavaScript Map
// iterates in insertion order, so re-inserting an entry on each hit makes the
// first key the least recently used one, the one to evict.

export class RecentlyUsedCache<V> {
  readonly #entries = new Map<string, V>();

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError("cache limit must be a positive integer");
  }

  /**
   * The value remembered for `id`, or else `load()`'s result, remembered from
   * now on. A load that throws remembers nothing, so a refused input is
   * refused again the next time it comes.
   */
  get(id: string, load: () => V): V {
    if (this.#entries.has(id)) {
      const hit = this.#entries.get(id) as V;
      this.#entries.delete(id);
      this.#entries.set(id, hit);
      return hit;
    }
    const loaded = load();
    this.#entries.set(id, loaded);
    if (this.#entries.size > this.limit) this.#entries.delete(this.#entries.keys().next().value as string);
    return loaded;
  }

  get size(): number {
    return this.#entries.size;
  }
}
