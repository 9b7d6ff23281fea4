import type { Compilable, CompiledQuery, Kysely } from 'kysely';
import type { Dialect } from './index.js';

/**
 * A hot query's shape, built and compiled once. Kysely builds, transforms and compiles a query on
 * every call, which costs more than running a small indexed query; for the few queries on every
 * request (authentication, profile reads) and in every upload's commit, the query is compiled once
 * with placeholder tokens and each run only swaps the parameters.
 *
 * It runs on any executor (a Kysely instance or a transaction) of the dialect it was first run on:
 * a shape whose SQL differs by dialect has one instance per dialect.
 */
export class PreparedQuery<Args extends Record<string, unknown>, Row> {
  #compiled: CompiledQuery<Row> | undefined;
  #slots: (keyof Args | undefined)[] = [];

  constructor(
    private readonly build: (db: Kysely<any>, args: Args) => Compilable<Row>,
    private readonly names: readonly (keyof Args & string)[],
  ) {}

  /** The rows of the query with `args`, run on `db` (compiled on the first run, with db's dialect). */
  async run(db: Kysely<any>, args: Args): Promise<Row[]> {
    const query = this.#compiled ?? this.compile(db);
    const parameters = query.parameters.map((value, i) => {
      const slot = this.#slots[i];
      return slot === undefined ? value : args[slot];
    });
    const result = await db.executeQuery<Row>({ ...query, parameters });
    return result.rows;
  }

  private compile(db: Kysely<any>): CompiledQuery<Row> {
    const token = (name: string) => `\u0000castfolio-param:${name}\u0000`;
    const placeholders = Object.fromEntries(this.names.map((name) => [name, token(name)])) as Args;
    const compiled = this.build(db, placeholders).compile();
    const slots = compiled.parameters.map((value) => this.names.find((name) => value === token(name)));
    for (const name of this.names) {
      if (!slots.includes(name)) throw new Error(`prepared query does not use its argument "${name}"`);
    }
    this.#slots = slots;
    this.#compiled = compiled;
    return compiled;
  }
}

/** A PreparedQuery bound to `db`: `build` receives only the arguments. */
export function preparedQuery<Args extends Record<string, unknown>, Row>(
  db: Kysely<any>,
  build: (args: Args) => Compilable<Row>,
  names: readonly (keyof Args & string)[],
): (args: Args) => Promise<Row[]> {
  const prepared = new PreparedQuery<Args, Row>((_db, args) => build(args), names);
  return (args) => prepared.run(db, args);
}

/**
 * A shape whose SQL differs by dialect (placeholders, locking clauses): one PreparedQuery per
 * dialect, for code that runs on either and knows which (`dialect` in the repositories).
 */
export function preparedPerDialect<Args extends Record<string, unknown>, Row>(
  build: (db: Kysely<any>, args: Args) => Compilable<Row>,
  names: readonly (keyof Args & string)[],
): Record<Dialect, PreparedQuery<Args, Row>> {
  return { sqlite: new PreparedQuery(build, names), postgres: new PreparedQuery(build, names) };
}
