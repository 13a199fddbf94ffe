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
  ValidationOptions,
} from 'class-validator';
import { tryParseDuration } from '../core/duration';

const DURATION_HINT =
  'a non-negative integer of milliseconds or a string such as "90s", "30m", "12h", "1d"';

function IsDuration(options?: {
  allowFalse?: boolean;
  positive?: boolean;
  /** The largest value allowed, as written in the message (for example `'15m'`). */
  max?: string;
}): PropertyDecorator {
  const max = options?.max === undefined ? undefined : tryParseDuration(options.max);
  const validation: ValidationOptions = {
    message: ({ property }) =>
      `${property} must be ${options?.positive ? 'a positive duration: ' : ''}${DURATION_HINT}${options?.allowFalse ? ', or false' : ''}${options?.max ? `, at most '${options.max}'` : ''}`,
  };
  return ValidateBy(
    {
      name: 'isDuration',
      validator: {
        validate: (value: unknown) => {
          if (options?.allowFalse && value === false) return true;
          const ms = tryParseDuration(value);
          return (
            ms !== undefined && (!options?.positive || ms > 0) && (max === undefined || ms <= max)
          );
        },
      },
    },
    validation,
  );
}

/**
 * The longest grace period: long enough for a mobile client on a slow network, short enough
 * that an old ID is not a long-lived credential (the PHP manual's example uses 300 s).
 */
export const MAX_OBSOLETE_GRACE_PERIOD = '15m';
/** The longest leeway for requests already in flight when a successor came into use. */
export const MAX_OBSOLETE_IN_FLIGHT_LEEWAY = '30s';

/** RFC 6265 cookie-name characters (an HTTP token). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_DOMAIN =
  /^\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const COOKIE_PATH = /^\/[\x21-\x3a\x3c-\x7e]*$/;

export class SessionCookieOptionsSchema {
  @IsOptional()
  @Matches(COOKIE_NAME, {
    message: "cookie.name must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
  })
  name?: string;

  @IsOptional()
  @IsBoolean({ message: 'cookie.secure must be true or false' })
  secure?: boolean;

  @IsOptional()
  @IsIn(['lax', 'strict', 'none'], {
    message: 'cookie.sameSite must be one of "lax", "strict", "none"',
  })
  sameSite?: string;

  @IsOptional()
  @Matches(COOKIE_DOMAIN, { message: 'cookie.domain must be a host name such as "example.com"' })
  domain?: string;

  @IsOptional()
  @Matches(COOKIE_PATH, {
    message: 'cookie.path must start with "/" and contain no ";", spaces or control characters',
  })
  path?: string;
}

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ORIGIN = /^https?:\/\/[^/\s]+$/;

export class SessionCsrfOptionsSchema {
  @IsOptional()
  @IsBoolean({ message: 'csrf.enabled must be true or false' })
  enabled?: boolean;

  @IsOptional()
  @Matches(HEADER_NAME, {
    message: 'csrf.header must be an HTTP header name such as "x-csrf-token"',
  })
  header?: string;

  @IsOptional()
  @IsArray({
    message: 'csrf.trustedOrigins must be an array of origins such as "https://app.example.com"',
  })
  @Matches(ORIGIN, {
    each: true,
    message: 'csrf.trustedOrigins must be an array of origins such as "https://app.example.com"',
  })
  trustedOrigins?: string[];
}

export class SessionRememberMeOptionsSchema {
  @IsOptional()
  @Matches(COOKIE_NAME, {
    message: "rememberMe.cookieName must be a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
  })
  cookieName?: string;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ positive: true })
  lifetime?: unknown;
}

export class SessionIdGuessingOptionsSchema {
  @IsOptional()
  @IsInt({ message: 'idGuessing.threshold must be a positive integer' })
  @Min(1, { message: 'idGuessing.threshold must be a positive integer' })
  threshold?: number;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ positive: true })
  window?: unknown;

  @IsOptional()
  @IsBoolean({ message: 'idGuessing.block must be true or false' })
  block?: boolean;
}

/** The class-validator description of `SessionModuleOptions`. */
export class SessionOptionsSchema {
  @IsOptional()
  @IsObject({ message: 'cookie must be an object' })
  @ValidateNested()
  cookie?: SessionCookieOptionsSchema;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ positive: true })
  idleTimeout?: unknown;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ positive: true })
  absoluteTimeout?: unknown;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration()
  touchInterval?: unknown;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ max: MAX_OBSOLETE_GRACE_PERIOD })
  obsoleteGracePeriod?: unknown;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ max: MAX_OBSOLETE_IN_FLIGHT_LEEWAY })
  obsoleteInFlightLeeway?: unknown;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration()
  obsoleteRetention?: unknown;

  @IsOptional()
  @IsIn(['revoke-all', 'deny'], { message: 'onObsoleteAccess must be one of "revoke-all", "deny"' })
  onObsoleteAccess?: string;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ allowFalse: true })
  rotationInterval?: unknown;

  @IsOptional()
  @IsBoolean({ message: 'regenerateOnWrite must be true or false' })
  regenerateOnWrite?: boolean;

  @IsOptional()
  @IsBoolean({ message: 'preparedStatements must be true or false' })
  preparedStatements?: boolean;

  @IsOptional()
  @IsInt({ message: 'maxDataSize must be an integer number of bytes between 2 and 1048576' })
  @Min(2, { message: 'maxDataSize must be an integer number of bytes between 2 and 1048576' })
  @Max(1_048_576, {
    message: 'maxDataSize must be an integer number of bytes between 2 and 1048576',
  })
  maxDataSize?: number;

  @IsOptional()
  @IsObject({ message: 'idGuessing must be an object' })
  @ValidateNested()
  idGuessing?: SessionIdGuessingOptionsSchema;

  @IsOptional()
  @IsObject({ message: 'rememberMe must be an object' })
  @ValidateNested()
  rememberMe?: SessionRememberMeOptionsSchema;

  @IsOptional()
  @IsObject({ message: 'csrf must be an object' })
  @ValidateNested()
  csrf?: SessionCsrfOptionsSchema;

  @IsOptional()
  @IsInt({ message: 'maxSessionsPerUser must be a positive integer' })
  @Min(1, { message: 'maxSessionsPerUser must be a positive integer' })
  maxSessionsPerUser?: number;

  @IsOptional()
  @IsIn(['refuse', 'evict-least-recently-used'], {
    message: 'sessionLimitPolicy must be one of "refuse", "evict-least-recently-used"',
  })
  sessionLimitPolicy?: string;

  @ValidateIf((_, value) => value !== undefined)
  @IsDuration({ allowFalse: true })
  gcInterval?: unknown;

  @IsOptional()
  @IsInt({ message: 'gcBatchSize must be an integer between 1 and 100000' })
  @Min(1, { message: 'gcBatchSize must be an integer between 1 and 100000' })
  @Max(100_000, { message: 'gcBatchSize must be an integer between 1 and 100000' })
  gcBatchSize?: number;

  @IsOptional()
  @IsBoolean({ message: 'guardCheck must be true or false' })
  guardCheck?: boolean;

  @IsOptional()
  @IsIn(['authenticated', 'public'], {
    message: 'defaultAccess must be one of "authenticated", "public"',
  })
  defaultAccess?: string;
}
