// Values that cost a round trip (a root's certificate, a KMS MAC) kept per
// process as the promise of their first load, so concurrent callers share one
// load. A load that fails is forgotten, so the next caller tries again rather
// than every caller inheriting a passing outage (KMS or DynamoDB unreachable
// once). With a limit, the oldest entry goes first, so a long-lived Lambda
// container does not grow with every key it meets.
export class PendingCache<K, V> {
  private readonly entries = new Map<K, Promise<V>>();

  constructor(private readonly limit = Number.POSITIVE_INFINITY) {}

  /** The value of `key`: the load in progress or done, else `load()` started now. */
  get(key: K, load: () => Promise<V>): Promise<V> {
    let pending = this.entries.get(key);
    if (!pending) {
      const attempt = load();
      pending = attempt;
      this.entries.set(key, attempt);
      attempt.catch(() => {
        if (this.entries.get(key) === attempt) this.entries.delete(key);
      });
      if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as K);
    }
    return pending;
  }
}
