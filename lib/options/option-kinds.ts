import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { Duration, tryParseDuration } from '../core/duration';
import {
  defaultsOf,
  DefaultsOf,
  isPlainObject,
  OptionRule,
  OptionTable,
  resolveTable,
  ResolvedValues,
} from './option-rule';

/*
 * The kinds of option. Each builds a row of the option table: its class-validator decorators
 * (with the message naming the option), how a given value is parsed, and how it resolves.
 * Options other than durations skip `null` as well as `undefined` (`IsOptional`), and then
 * take their default.
 */

const DURATION_HINT =
  'a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d"';

/** What a value that is not a duration is parsed into, so that the validation refuses it. */
const NOT_A_DURATION = Symbol('not a duration');

/** Durations are parsed here, once: into milliseconds, `false` kept, anything else refused. */
function parseDuration(given: unknown): number | false | typeof NOT_A_DURATION {
  return given === false ? false : (tryParseDuration(given) ?? NOT_A_DURATION);
}

/**
 * A length of time, resolved to milliseconds. `off`: `false` is accepted too and resolves to
 * `0`. `max` is the longest value, as written in the message (for example `'15m'`).
 */
export function duration<const D extends Duration | false>(rule: {
  default: D;
  positive?: boolean;
  max?: string;
  off?: boolean;
}): OptionRule<number, D> {
  const max = rule.max === undefined ? undefined : parseDuration(rule.max);
  const resolvedDefault = parseDuration(rule.default);
  const message = ({ property }: { property: string }) =>
    `${property} must be ${rule.positive ? 'a positive duration: ' : ''}${DURATION_HINT}` +
    `${rule.off ? ', or false' : ''}${rule.max ? `, at most '${rule.max}'` : ''}`;
  const isValid = (ms: unknown) =>
    ms === false
      ? rule.off === true
      : typeof ms === 'number' &&
        (!rule.positive || ms > 0) &&
        (typeof max !== 'number' || ms <= max);
  return {
    default: rule.default,
    // A duration given as `null` is refused, not defaulted.
    validators: () => [
      ValidateIf((_, value) => value !== undefined),
      ValidateBy({ name: 'isDuration', validator: { validate: isValid } }, { message }),
    ],
    parse: parseDuration,
    resolve: (checked) => {
      const ms = (checked ?? resolvedDefault) as number | false;
      return ms === false ? 0 : ms;
    },
  };
}

export function flag<const D extends boolean>(rule: { default: D }): OptionRule<boolean, D> {
  return {
    default: rule.default,
    validators: (path) => [IsOptional(), IsBoolean({ message: `${path} must be true or false` })],
    resolve: (checked) => (checked ?? rule.default) as boolean,
  };
}

export function oneOf<const V extends readonly string[]>(
  values: V,
  rule: { default: V[number] },
): OptionRule<V[number], V[number]> {
  return {
    default: rule.default,
    validators: (path) => [
      IsOptional(),
      IsIn([...values], {
        message: `${path} must be one of ${values.map((value) => `"${value}"`).join(', ')}`,
      }),
    ],
    resolve: (checked) => (checked ?? rule.default) as V[number],
  };
}

/** An integer between `between[0]` and `between[1]`, or any positive one; `null` without default. */
export function integer<const D extends number | undefined = undefined>(rule: {
  default?: D;
  between?: readonly [number, number];
  unit?: string;
}): OptionRule<D extends number ? number : number | null, D> {
  const [min, max] = rule.between ?? [1, undefined];
  const what =
    max === undefined
      ? 'a positive integer'
      : `an integer${rule.unit ? ` number of ${rule.unit}` : ''} between ${min} and ${max}`;
  return {
    default: rule.default as D,
    validators: (path) => {
      const message = `${path} must be ${what}`;
      return [
        IsOptional(),
        IsInt({ message }),
        Min(min, { message }),
        ...(max === undefined ? [] : [Max(max, { message })]),
      ];
    },
    resolve: (checked) =>
      (checked ?? rule.default ?? null) as D extends number ? number : number | null,
  };
}

/** A string matching `pattern`; `must` completes "`path` must ..." in the message. */
export function text<const D extends string | undefined = undefined>(rule: {
  pattern: RegExp;
  must: string;
  default?: D;
  /** Resolve to lower case (names matched without regard to case). */
  lowerCase?: boolean;
}): OptionRule<D extends string ? string : string | undefined, D> {
  return {
    default: rule.default as D,
    validators: (path) => [
      IsOptional(),
      Matches(rule.pattern, { message: `${path} must ${rule.must}` }),
    ],
    resolve: (checked) => {
      const value = (checked ?? rule.default) as string | undefined;
      return (rule.lowerCase ? value?.toLowerCase() : value) as D extends string
        ? string
        : string | undefined;
    },
  };
}

/** An array of strings matching `pattern`; default none. */
export function list(rule: { pattern: RegExp; must: string }): OptionRule<string[], string[]> {
  return {
    default: [],
    validators: (path) => {
      const message = `${path} must ${rule.must}`;
      return [IsOptional(), IsArray({ message }), Matches(rule.pattern, { each: true, message })];
    },
    resolve: (checked) => [...((checked ?? []) as string[])],
  };
}

/** A nested object of options, each with its own row; its defaults are those of its rows. */
export function nested<const Table extends OptionTable>(
  options: Table,
): OptionRule<ResolvedValues<Table>, DefaultsOf<Table>> {
  return {
    default: defaultsOf(options),
    validators: (path) => [
      IsOptional(),
      IsObject({ message: `${path} must be an object` }),
      ValidateNested(),
    ],
    resolve: (checked) => resolveTable(options, isPlainObject(checked) ? checked : {}),
    options,
  };
}
