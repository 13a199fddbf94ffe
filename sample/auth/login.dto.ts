import { IsBoolean, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsPlainText } from '../http/plain-text.validator';

/** Body of `POST /api/auth/login`. */
export class LoginDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(64)
  @IsPlainText()
  username!: string;

  // The bound keeps a hashing request cheap to refuse; no real password is this long.
  @IsString()
  @IsNotEmpty()
  @MaxLength(1024)
  @IsPlainText()
  password!: string;

  /** "Remember me" on the sign-in form: asks for a persistent login on this device. */
  @IsOptional()
  @IsBoolean()
  rememberMe?: boolean;
}
