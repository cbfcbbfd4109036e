/**
 * API errors: `{ code, message, field }`. Bad input is a 400 naming the field (request validation,
 * done by fastify from each route's JSON schema, and semantic checks in handlers); an unknown sid is a
 * 404; a conflict with what is stored (a trunk name taken) is a 409.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { TrunkError } from '../trunks/registry.ts';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export const badRequest = (field: string, message: string) =>
  new ApiError(400, 'invalid-parameter', message, field);
export const notFound = (what: string, sid: string) =>
  new ApiError(404, 'not-found', `no ${what} ${sid}`, 'Sid');

export interface ErrorBody {
  code: string;
  message: string;
  field: string | null;
}

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/Rates/Termination/+44` -> `Rates.Termination.+44`; `/Acl/1` -> `Acl[1]`. */
function fieldOf(issue: ValidationIssue): string {
  const parts = issue.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  const extra =
    issue.keyword === 'required'
      ? issue.params.missingProperty
      : issue.keyword === 'additionalProperties'
        ? issue.params.additionalProperty
        : undefined;
  if (typeof extra === 'string') parts.push(extra);
  return parts.reduce(
    (path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part),
    '',
  );
}

function validationMessage(issue: ValidationIssue, field: string): string {
  switch (issue.keyword) {
    case 'required':
      return `${field} is required`;
    case 'additionalProperties':
      return `${field} is not a known parameter`;
    case 'enum':
      return `${field} must be one of ${(issue.params.allowedValues as unknown[]).join(', ')}`;
    default:
      return `${field} ${issue.message ?? 'is invalid'}`;
  }
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError | TrunkError, request, reply) => {
    if (error instanceof ApiError) {
      return reply
        .status(error.statusCode)
        .send({ code: error.code, message: error.message, field: error.field ?? null } satisfies ErrorBody);
    }
    if (error instanceof TrunkError) {
      const status = error.code === 'not-found' ? 404 : 409;
      const field =
        error.field === 'sid' ? 'Sid' : error.field.charAt(0).toUpperCase() + error.field.slice(1);
      return reply
        .status(status)
        .send({ code: error.code, message: error.message, field } satisfies ErrorBody);
    }
    const validation = (error as FastifyError).validation as ValidationIssue[] | undefined;
    if (validation && validation.length > 0) {
      const issue = validation[0]!;
      const field = fieldOf(issue) || 'body';
      return reply.status(400).send({
        code: 'invalid-parameter',
        message: validationMessage(issue, field),
        field,
      } satisfies ErrorBody);
    }
    const status = (error as FastifyError).statusCode ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send({
      code: status >= 500 ? 'internal-error' : ((error as FastifyError).code ?? 'bad-request'),
      message: status >= 500 ? 'internal error' : error.message,
      field: null,
    } satisfies ErrorBody);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({
      code: 'not-found',
      message: `no route ${request.method} ${request.url}`,
      field: null,
    } satisfies ErrorBody),
  );
}
