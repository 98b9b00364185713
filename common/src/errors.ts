/**
 * Domain errors carry a stable `code` and an HTTP status; the one error handler per service
 * (see http.ts) turns them into `{"error": {"code", "message", "details"?}}`.
 * Domain code throws these, never HTTP-framework exceptions.
 */
export class AppError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly details: unknown;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, code: string, message: string, details?: unknown, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown, code = 'VALIDATION_FAILED') {
    super(400, code, message, details);
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'UNAUTHORIZED', details?: unknown) {
    super(401, code, message, details, { 'www-authenticate': 'Bearer' });
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code = 'FORBIDDEN', details?: unknown) {
    super(403, code, message, details);
  }
}
export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'NOT_FOUND', details?: unknown) {
    super(404, code, message, details);
  }
}
export class ConflictError extends AppError {
  constructor(message: string, code = 'CONFLICT', details?: unknown) {
    super(409, code, message, details);
  }
}
export class GoneError extends AppError {
  constructor(message: string, code = 'GONE', details?: unknown) {
    super(410, code, message, details);
  }
}
export class PayloadTooLargeError extends AppError {
  constructor(message: string, code = 'PAYLOAD_TOO_LARGE', details?: unknown) {
    super(413, code, message, details);
  }
}
export class UnprocessableError extends AppError {
  constructor(message: string, code = 'UNPROCESSABLE', details?: unknown) {
    super(422, code, message, details);
  }
}
export class TooManyRequestsError extends AppError {
  /** RFC 9110 §10.2.3: Retry-After in seconds. */
  constructor(retryAfterSeconds: number, message = 'Too many requests', code = 'RATE_LIMITED') {
    const s = Math.max(1, Math.ceil(retryAfterSeconds));
    super(429, code, message, { retryAfterSeconds: s }, { 'retry-after': String(s) });
  }
}
export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service unavailable', code = 'UNAVAILABLE') {
    super(503, code, message);
  }
}

/** Shape of every error body Linkport's REST services answer with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown; requestId?: string };
}
