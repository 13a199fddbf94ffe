import { ValidationError, validateSync } from 'class-validator';
import { isPlainObject, OptionTable } from './option-rule';

/** A class-validator class made from a table, with those of its nested objects. */
interface OptionSchema {
  readonly Class: new () => Record<string, unknown>;
  readonly nested: Readonly<Record<string, OptionSchema>>;
}

/** Applies each row's decorators to one property of a new class, as `@IsInt()` would. */
export function optionSchema(table: OptionTable, prefix = ''): OptionSchema {
  const Class = class {} as OptionSchema['Class'];
  const nested: Record<string, OptionSchema> = {};
  for (const [key, rule] of Object.entries(table)) {
    for (const decorate of rule.validators(`${prefix}${key}`)) decorate(Class.prototype, key);
    if (rule.options) nested[key] = optionSchema(rule.options, `${prefix}${key}.`);
  }
  return { Class, nested };
}

/**
 * An instance of the schema holding the given values in the form the rows check and resolve
 * (parsed once). Own, known keys only: unknown ones are reported, never assigned, so a
 * `__proto__` or `constructor` key never reaches a prototype.
 */
function checkedForm(
  given: Record<string, unknown>,
  table: OptionTable,
  schema: OptionSchema,
): Record<string, unknown> {
  const form = new schema.Class();
  for (const [key, value] of Object.entries(given)) {
    if (!Object.hasOwn(table, key)) continue;
    const rule = table[key];
    if (rule.options && isPlainObject(value)) {
      form[key] = checkedForm(value, rule.options, schema.nested[key]);
    } else {
      form[key] = value === undefined || !rule.parse ? value : rule.parse(value);
    }
  }
  return form;
}

function messages(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    if (error.children?.length) return messages(error.children, `${path}.`);
    const unique = [...new Set(Object.values(error.constraints ?? {}))];
    return unique.map((message) => `${path}: ${message}`);
  });
}

/**
 * The path of every value the validation refused (`cookie` when it is no object,
 * `cookie.sameSite`, ...); an object is not refused for what one of its keys holds.
 */
function invalidPaths(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = `${prefix}${error.property}`;
    const own = Object.keys(error.constraints ?? {}).length > 0 ? [path] : [];
    return [...own, ...invalidPaths(error.children ?? [], `${path}.`)];
  });
}

/**
 * The checked values without those the validation refused, so that the rules between options
 * can run on the rest. Built with `Object.fromEntries`, which defines own properties.
 */
function withoutInvalid(
  form: Record<string, unknown>,
  table: OptionTable,
  invalid: ReadonlySet<string>,
  prefix = '',
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(form)
      .filter(([key]) => !invalid.has(`${prefix}${key}`))
      .map(([key, value]) => {
        const options = table[key].options;
        if (!options || !isPlainObject(value)) return [key, value];
        return [key, withoutInvalid(value, options, invalid, `${prefix}${key}.`)];
      }),
  );
}

export interface OptionValidation {
  /** One line per refused value: `path: message`. */
  readonly problems: string[];
  /** The paths of the refused values. */
  readonly invalid: ReadonlySet<string>;
  /** The given values that passed, parsed (own keys of the table only). */
  readonly valid: Record<string, unknown>;
}

/** Validates the known options of `given` with class-validator against the table's rules. */
export function validateOptions(
  given: Record<string, unknown>,
  table: OptionTable,
  schema: OptionSchema,
): OptionValidation {
  const form = checkedForm(given, table, schema);
  const errors = validateSync(form, { forbidUnknownValues: false });
  const invalid = new Set(invalidPaths(errors));
  return { problems: messages(errors), invalid, valid: withoutInvalid(form, table, invalid) };
}
