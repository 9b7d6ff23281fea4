/**
 * A Map that empties itself when a new key would take it past `limit`. For caches whose keys are a
 * small set in normal use (query texts, live tokens): the limit only bounds what abuse can add.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.size >= this.limit && !this.has(key)) this.clear();
    return super.set(key, value);
  }
}
