/**
 * Every error a person can meet, as one sentence. Codes come from core/media (`{"error": {"code"}}`,
 * common/src/errors.ts and the services' own codes), from GraphQL (`extensions.code`, Hasura's
 * codes), and from the client itself (OFFLINE, RATE_LIMITED, SESSION_EXPIRED).
 */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
    /** Seconds, from Retry-After on a 429/503. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

const SENTENCES: Record<string, string> = {
  // client-side
  OFFLINE: 'You are offline. Your changes were not sent; try again once the connection is back.',
  RATE_LIMITED: 'Too many requests in a short time.',
  SESSION_EXPIRED: 'Your session has expired. Please log in again.',
  NETWORK: 'The server could not be reached. Please try again in a moment.',
  // core: auth
  INVALID_CREDENTIALS: 'That email and password do not match an account.',
  LOGIN_THROTTLED: 'Too many failed log-ins for this account. Wait a little before trying again.',
  INVALID_REFRESH_TOKEN: 'Your session has ended. Please log in again.',
  REFRESH_TOKEN_EXPIRED: 'Your session has expired. Please log in again.',
  REFRESH_TOKEN_REUSED: 'This session was used from somewhere else and has been closed for safety. Please log in again.',
  SESSION_REQUIRED: 'This needs a password session, not an API key.',
  MISSING_CREDENTIAL: 'Please log in first.',
  EMAIL_TAKEN: 'An account with this email already exists. Log in instead?',
  CONFLICT: 'That already exists.',
  WRONG_PASSWORD: 'The current password is not correct.',
  INVALID_PASSWORD: 'The current password is not correct.',
  VALIDATION_FAILED: 'Some fields are not valid.',
  UNAUTHORIZED: 'Please log in again.',
  FORBIDDEN: 'You are not allowed to do that.',
  NOT_FOUND: 'That could not be found. It may have been deleted.',
  PAYLOAD_TOO_LARGE: 'That is too large.',
  INTERNAL: 'Something went wrong on our side. Please try again.',
  SERVICE_UNAVAILABLE: 'The service is briefly unavailable. Please try again in a moment.',
  INVALID_TOKEN: 'Your session has ended. Please log in again.',
  TOKEN_EXPIRED: 'Your session has expired. Please log in again.',
  INSUFFICIENT_SCOPE: 'This key does not have the permission for that.',
  AUTH_UNAVAILABLE: 'Signing in is briefly unavailable. Please try again in a moment.',
  API_KEY_NOT_FOUND: 'That API key no longer exists.',
  ACCOUNT_NOT_FOUND: 'This account no longer exists.',
  // media
  ASSET_NOT_FOUND: 'That image no longer exists.',
  EMPTY_FILE: 'That file is empty.',
  UPLOAD_EXPIRED: 'The upload took too long and expired. Please try again.',
  UPLOAD_NOT_PENDING: 'This upload was already completed or cancelled.',
  STORAGE_UNAVAILABLE: 'File storage is briefly unavailable. Please try again in a moment.',
  QUOTA_EXCEEDED: 'Your storage is full. Delete some images before uploading another.',
  OBJECT_NOT_FOUND: 'The uploaded file did not reach storage. Please try again.',
  UNSUPPORTED_MEDIA_TYPE: 'That file type is not supported. Use PNG, JPEG, GIF or WebP.',
  FILE_TOO_LARGE: 'That file is too large.',
  CONTENT_MISMATCH: 'The file content does not match its type.',
  UPLOAD_INCOMPLETE: 'The upload did not finish. Please try again.',
  // GraphQL (Hasura's extensions.code)
  'constraint-violation': 'That short code is already taken, or a value breaks a rule.',
  'validation-failed': 'The request was refused: a field is not allowed or not valid.',
  'invalid-jwt': 'Your session has expired. Please log in again.',
  'access-denied': 'You are not allowed to do that.',
  'permission-error': 'You are not allowed to do that.',
  'data-exception': 'A value is not valid.',
  'not-supported': 'That is not supported.',
  'unexpected': 'Something went wrong on our side. Please try again.',
};

/** Extra precision for PostgreSQL check violations the links table raises. */
const CONSTRAINTS: Array<[RegExp, string]> = [
  // tags, domains, webhook endpoints (migrations 1763700000300_links, 1764900000400_webhooks)
  [/tags_owner_id_name_key/i, 'You already have a tag with that name.'],
  [/tags_name_check/i, 'A tag name is 1–50 characters.'],
  [/domains_hostname_key/i, 'That domain is already registered, by you or another account.'],
  [/domains_hostname_check/i, 'A domain is a lowercase hostname such as links.example.com.'],
  [/endpoints_url_check/i, 'The webhook URL must be a full http:// or https:// address, without spaces or a user name.'],
  [/endpoints_secret_check/i, 'The signing secret is not valid: generate a new one.'],
  [/endpoints_event_types_check/i, 'One of the chosen event types does not exist.'],
  [/endpoints_description_check/i, 'The description is at most 500 characters.'],
  [/links_code_key|duplicate key.*code/i, 'That short code is already taken. Choose another one.'],
  [/reserved/i, 'That short code is a reserved word (used by the app or the API). Choose another one.'],
  [/destination_is_http_url/i, 'The destination must be a full http:// or https:// address.'],
  [/expired_url_is_http_url/i, 'The fallback after expiry must be a full http:// or https:// address.'],
  [/ios_url_is_http_url|android_url_is_http_url/i, 'Device destinations must be full http:// or https:// addresses.'],
  [/max_clicks/i, 'The click limit must be a positive number.'],
  [/code.*(length|format|characters)|invalid short code/i, 'A custom code is 3–64 letters, digits, - or _.'],
];

export function sentence(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'RATE_LIMITED') {
      return err.retryAfter !== undefined ? `Too many requests. Try again in ${err.retryAfter} s.` : SENTENCES.RATE_LIMITED!;
    }
    for (const [re, text] of CONSTRAINTS) if (re.test(err.message)) return text;
    return SENTENCES[err.code] ?? (err.message || SENTENCES.INTERNAL!);
  }
  return SENTENCES.INTERNAL!;
}
