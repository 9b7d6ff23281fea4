import type { Compilable, CompiledQuery, Kysely } from 'kysely';

/**
 * A hot query built and compiled once. Kysely builds, transforms and compiles a query on every
 * call, which costs more than running a small indexed query; for the few queries on every request
 * (authentication, profile reads) the query is compiled once with placeholder tokens and each
 * call only swaps the parameters.
 */
export function preparedQuery<Args extends Record<string, unknown>, Row>(
  db: Kysely<any>,
  build: (args: Args) => Compilable<Row>,
  names: readonly (keyof Args & string)[],
): (args: Args) => Promise<Row[]> {
  let compiled: CompiledQuery<Row> | undefined;
  let slots: (keyof Args | undefined)[] = [];
  const token = (name: string) => `\u0000castfolio-param:${name}\u0000`;
  return async (args) => {
    if (!compiled) {
      const placeholders = Object.fromEntries(names.map((name) => [name, token(name)])) as Args;
      compiled = build(placeholders).compile();
      slots = compiled.parameters.map((value) => names.find((name) => value === token(name)));
      for (const name of names) {
        if (!slots.includes(name)) throw new Error(`prepared query does not use its argument "${name}"`);
      }
    }
    const query = compiled;
    const parameters = query.parameters.map((value, i) => {
      const slot = slots[i];
      return slot === undefined ? value : args[slot];
    });
    const result = await db.executeQuery<Row>({ ...query, parameters });
    return result.rows;
  };
}
