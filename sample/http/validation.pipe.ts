import { ValidationPipe } from '@nestjs/common';
import { InvalidBodyException } from './invalid-body.exception';

/**
 * The sample's global pipe: DTOs are checked with class-validator, properties they do not
 * declare are dropped, and a failure is a 400 `invalid_body` with the problems by field.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    transform: true,
    exceptionFactory: (errors) => new InvalidBodyException(errors),
  });
}
