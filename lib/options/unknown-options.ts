import { closestName } from './closest-name';
import { isPlainObject, OptionTable } from './option-rule';
import { SessionModuleExtras } from './session-options';

/**
 * The options given to `forRootAsync` itself: they decide how the module is registered, before
 * any factory runs, so a factory (or `useClass`/`useExisting` class) cannot return them.
 */
// `repositories` is an extra of the module definition (lib/session.module-definition.ts).
const EXTRA_KEYS = { isGlobal: true, dataSource: true, repositories: true } satisfies Record<
  keyof SessionModuleExtras | 'repositories',
  true
>;

function misplacedExtra(key: string): string {
  return (
    `${key}: ${key} is not an option the factory can return; give it to forRootAsync itself, ` +
    `beside useFactory (or useClass, useExisting): SessionModule.forRootAsync({ ${key}: ..., useFactory: ... })`
  );
}

/** Every key of a nested object, as `parent.child`. */
function nestedPaths(table: OptionTable): string[] {
  return Object.entries(table).flatMap(([parent, rule]) =>
    Object.keys(rule.options ?? {}).map((child) => `${parent}.${child}`),
  );
}

/** `did you mean ...?` for a mistyped key: a close key at the same level, or one nested below. */
function suggestionFor(key: string, known: OptionTable, prefix: string, top: OptionTable): string {
  const sibling = closestName(key, Object.keys(known));
  if (sibling !== undefined) return `; did you mean ${prefix}${sibling}?`;
  if (prefix !== '') return '';
  const nested = nestedPaths(top);
  const leaf = closestName(
    key,
    nested.map((path) => path.slice(path.indexOf('.') + 1)),
  );
  const home = nested.find((path) => path.endsWith(`.${leaf}`));
  return home === undefined ? '' : `; did you mean ${home}?`;
}

function unknownAt(
  given: Record<string, unknown>,
  known: OptionTable,
  prefix: string,
  top: OptionTable,
): string[] {
  return Object.keys(given)
    .filter((key) => !Object.hasOwn(known, key))
    .map((key) =>
      prefix === '' && Object.hasOwn(EXTRA_KEYS, key)
        ? misplacedExtra(key)
        : `${prefix}${key}: ${prefix}${key} is not a known option${suggestionFor(key, known, prefix, top)}`,
    );
}

/**
 * One problem per key that is no option of the table (own-key lookup, never through the
 * prototype), at the top level and in each nested object, with a hint where one helps.
 */
export function unknownOptions(given: Record<string, unknown>, table: OptionTable): string[] {
  return [
    ...unknownAt(given, table, '', table),
    ...Object.entries(table).flatMap(([key, rule]) => {
      const value = Object.hasOwn(given, key) ? given[key] : undefined;
      return rule.options && isPlainObject(value)
        ? unknownAt(value, rule.options, `${key}.`, table)
        : [];
    }),
  ];
}
