import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorBody } from './errors.ts';

interface ZodLikeIssue {
  instancePath?: string;
  message?: string;
  params?: { issue?: { path?: PropertyKey[]; code?: string; message?: string } };
}

function validationDetails(err: FastifyError) {
  const issues = (err.validation ?? []) as ZodLikeIssue[];
  return issues.map((i) => {
    const path = i.params?.issue?.path ?? (i.instancePath ?? '').split('/').filter(Boolean);
    return {
      path: path.map(String).join('.'),
      message: i.params?.issue?.message ?? i.message ?? 'invalid',
      ...(i.params?.issue?.code ? { code: i.params.issue.code } : {}),
    };
  });
}

/** Fastify's own client-error codes and the stable codes we answer them with. */
const fastifyClientCodes: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_CONTENT_LENGTH',
};

export function errorBody(code: string, message: string, details?: unknown, requestId?: string): ErrorBody {
  return { error: { code, message, ...(details === undefined ? {} : { details }), ...(requestId ? { requestId } : {}) } };
}

/**
 * The one error handler of a service: domain errors → their status and code; schema validation →
 * 400 with the field issues; Fastify's 4xx (bad JSON, too large, media type) keep their status with a
 * stable code; anything else is a 500 that hides internals and logs the cause with the request id.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof AppError) {
      if (err.statusCode >= 500) req.log.error({ err }, 'request failed');
      return reply.code(err.statusCode).headers(err.headers).send(errorBody(err.code, err.message, err.details, req.id));
    }
    if (err.validation) {
      return reply
        .code(400)
        .send(errorBody('VALIDATION_FAILED', `Invalid ${err.validationContext ?? 'request'}`, validationDetails(err), req.id));
    }
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = fastifyClientCodes[err.code] ?? (status === 429 ? 'RATE_LIMITED' : status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST');
      return reply.code(status).send(errorBody(code, err.message, undefined, req.id));
    }
    req.log.error({ err }, 'unhandled error');
    return reply.code(500).send(errorBody('INTERNAL', 'Internal server error', undefined, req.id));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('ROUTE_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`, undefined, req.id));
  });
}
