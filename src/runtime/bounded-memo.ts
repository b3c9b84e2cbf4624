/**
 * Values made before, by key, for work that makes the same few values again and again (a
 * character's class, a conversation's facet token). It holds at most `max`; when full, it forgets
 * them all and starts again, so a stream of ever-new keys costs memory for `max` of them only.
 */
export class BoundedMemo<K, V> {
  private readonly values = new Map<K, V>();

  constructor(private readonly max: number) {}

  /** The value for `key`, made by `make` the first time (and again after the memo was emptied). */
  get(key: K, make: (key: K) => V): V {
    let value = this.values.get(key);
    if (value === undefined) {
      if (this.values.size >= this.max) this.values.clear();
      value = make(key);
      this.values.set(key, value);
    }
    return value;
  }
}
