import { BadRequestException } from '@nestjs/common';
import type { ValidationError } from 'class-validator';

/** What is wrong with each field of a request body, by field path (`items.0.qty`). */
export type FieldErrors = Record<string, string[]>;

function collect(
  errors: readonly ValidationError[],
  prefix: string,
  into: FieldErrors,
): FieldErrors {
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const messages = Object.values(error.constraints ?? {});
    if (messages.length > 0) into[path] = [...(into[path] ?? []), ...messages];
    collect(error.children ?? [], path, into);
  }
  return into;
}

/**
 * 400 for a body that fails its DTO. Beside Nest's usual `message` (every problem, as a list),
 * the body has a `code` like every other error of the sample and `fields`, the problems by
 * field, so a form can show each one next to its input.
 */
export class InvalidBodyException extends BadRequestException {
  readonly fields: FieldErrors;

  constructor(errors: readonly ValidationError[]) {
    const fields = collect(errors, '', {});
    super({
      statusCode: 400,
      error: 'Bad Request',
      code: 'invalid_body',
      message: Object.values(fields).flat(),
      fields,
    });
    this.fields = fields;
  }
}
