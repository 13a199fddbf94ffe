import { buildMessage, ValidateBy, ValidationOptions } from 'class-validator';

/**
 * Control characters (NUL, line breaks, escape, C1) and unpaired UTF-16 surrogates: in `u` mode a
 * lone surrogate is a code point of its own, of category Cs, while a valid pair is one emoji.
 */
const NOT_PLAIN_TEXT = /[\p{Cc}\p{Cs}]/u;

/**
 * The string is text a person can type: no control characters and well-formed Unicode. Without
 * it, `{"username": "alice\u0000"}` reaches PostgreSQL, which cannot store NUL and fails the
 * query (a 500 with the statement in the log); a lone surrogate has no UTF-8 form at all.
 * Values that are not strings pass (`@IsString()` reports those).
 *
 * @example
 * @IsString()
 * @IsPlainText()
 * username!: string;
 */
export function IsPlainText(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isPlainText',
      validator: {
        validate: (value: unknown) => typeof value !== 'string' || !NOT_PLAIN_TEXT.test(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must not contain control characters or invalid Unicode`,
          options,
        ),
      },
    },
    options,
  );
}
