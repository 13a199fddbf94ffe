/**
 * One row of the option table: everything the package knows about one option except its user
 * documentation, which is the JSDoc of the public interface (`session-options.ts`), so that it
 * reaches users' editors. The key lists, the defaults, the class-validator classes and the
 * resolved values are all derived from these rows.
 */
export interface OptionRule<Resolved = unknown, Default = unknown> {
  /** The default as users write it (`SESSION_OPTION_DEFAULTS`); `undefined` when there is none. */
  readonly default: Default;
  /** The class-validator decorators of the option, given its path (`cookie.name`) for messages. */
  readonly validators: (path: string) => PropertyDecorator[];
  /**
   * The form class-validator checks and `resolve` then reads (a duration in milliseconds), so
   * that a value is parsed once. Absent: the value as given.
   */
  readonly parse?: (given: unknown) => unknown;
  /** The value the package reads: the checked value, or the default when it is `undefined`. */
  readonly resolve: (checked: unknown) => Resolved;
  /** The rows of a nested object's own keys (`cookie`, `csrf`, ...). */
  readonly options?: OptionTable;
}

export type OptionTable = { readonly [key: string]: OptionRule };

/** A table with exactly one row per key of the options interface `Options`. */
export type OptionTableFor<Options> = {
  readonly [Key in keyof Options]-?: OptionRule<unknown, Options[Key] | undefined>;
};

/** The resolved value of every option of a table. */
export type ResolvedValues<Table extends OptionTable> = {
  -readonly [Key in keyof Table]: ReturnType<Table[Key]['resolve']>;
};

/** The options of a table that have a default, with their defaults. */
export type DefaultsOf<Table extends OptionTable> = {
  readonly [
    Key in keyof Table as undefined extends Table[Key]['default'] ? never : Key
  ]: Table[Key]['default'];
};

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value of every option of `table`, from the checked values (own keys only) or defaults. */
export function resolveTable<Table extends OptionTable>(
  table: Table,
  checked: Record<string, unknown>,
): ResolvedValues<Table> {
  return Object.fromEntries(
    Object.entries(table).map(([key, rule]) => [
      key,
      rule.resolve(Object.hasOwn(checked, key) ? checked[key] : undefined),
    ]),
  ) as ResolvedValues<Table>;
}

/** The defaults of `table`, nested objects included (their own defaults, when they have any). */
export function defaultsOf<Table extends OptionTable>(table: Table): DefaultsOf<Table> {
  return Object.fromEntries(
    Object.entries(table)
      .filter(([, rule]) => rule.default !== undefined)
      .map(([key, rule]) => [key, rule.default]),
  ) as DefaultsOf<Table>;
}
