import { IsNotEmpty, IsString, MaxLength, MinLength } from 'class-validator';
import { IsPlainText } from '../http/plain-text.validator';

/** Shortest new password accepted (NIST SP 800-63B asks for at least 8; the sample asks 12). */
export const MIN_PASSWORD_LENGTH = 12;

/** Body of `POST /api/auth/password`. */
export class ChangePasswordDto {
  @IsString()
  @IsNotEmpty({ message: 'Enter your current password.' })
  @MaxLength(1024)
  @IsPlainText()
  currentPassword!: string;

  @IsString()
  @MinLength(MIN_PASSWORD_LENGTH, {
    message: `The new password needs at least ${MIN_PASSWORD_LENGTH} characters.`,
  })
  @MaxLength(1024, { message: 'The new password can have at most 1024 characters.' })
  @IsPlainText({
    message: 'The new password cannot contain control characters or invalid Unicode.',
  })
  newPassword!: string;
}
