/**
 * Every error a person meets is a sentence (app/src/errors.ts): the codes core and media answer
 * (read from their source, so a new code without a sentence fails here), Hasura's GraphQL codes,
 * the links table's constraint names, and the client's own states (offline, rate limited with
 * Retry-After, expired session).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ApiError, sentence } from '../app/src/errors.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function codesIn(dir: string, out = new Set<string>()): Set<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) codesIn(p, out);
    else if (p.endsWith('.ts')) for (const m of fs.readFileSync(p, 'utf8').matchAll(/Error\([^)]*'([A-Z][A-Z_]{4,})'\)/g)) out.add(m[1]!);
  }
  return out;
}

/**
 * Codes a dashboard user cannot meet (transfer jobs, multipart parts, API-key authentication,
 * internal routes). A new code elsewhere fails this test until it has a sentence or is listed here.
 */
const NOT_IN_THE_DASHBOARD = new Set([
  'EXPORT_EXPIRED', 'EXPORT_NOT_READY', 'NOT_AN_EXPORT', 'NOT_AN_IMPORT', 'TRANSFER_JOB_NOT_FOUND', 'INVALID_CURSOR', 'INVALID_RANGE',
  'INVALID_PART_NUMBER', 'MULTIPART_REQUIRED', 'NOT_MULTIPART', 'PARTS_REQUIRED', 'CHECKSUM_UNSUPPORTED', 'UNKNOWN_USER', 'INVALID_PROFILE',
  'API_KEY_EXPIRED', 'API_KEY_REVOKED', 'INVALID_API_KEY',
  // media's internal preview-image route (called by the events service, not by browsers)
  'INVALID_OWNER', 'EMPTY_BODY', 'UNKNOWN_OWNER',
]);

void test('every core and media error code the dashboard can meet has its own sentence', () => {
  const codes = new Set([...codesIn(path.join(ROOT, 'core-service/src')), ...codesIn(path.join(ROOT, 'media-service/src'))]);
  assert.ok(codes.size > 20, `found ${codes.size} codes: the extraction must see them`);
  const fallback = sentence(new ApiError('SOMETHING_NEW', ''));
  const missing = [...codes].filter((c) => !NOT_IN_THE_DASHBOARD.has(c) && sentence(new ApiError(c, '')) === fallback);
  assert.deepEqual(missing, [], 'codes without a sentence (app/src/errors.ts)');
});

void test('client states, GraphQL codes and constraint names read as sentences', () => {
  assert.equal(sentence(new ApiError('RATE_LIMITED', '', 429, 42)), 'Too many requests. Try again in 42 s.');
  assert.match(sentence(new ApiError('OFFLINE', '')), /You are offline/);
  assert.match(sentence(new ApiError('SESSION_EXPIRED', '')), /session has expired/);
  assert.match(sentence(new ApiError('constraint-violation', 'Uniqueness violation. duplicate key value violates unique constraint "links_code_key"')), /short code is already taken/);
  assert.match(sentence(new ApiError('constraint-violation', 'new row violates check constraint "destination_is_http_url"')), /full http/);
  assert.match(sentence(new ApiError('data-exception', 'code "app" is reserved')), /reserved word/);
  assert.match(sentence(new ApiError('validation-failed', 'query is not in any of the allowlists')), /refused/);
  // An unknown code without a message is still a sentence, never a raw code.
  assert.equal(sentence(new ApiError('X_Y_Z', '')), 'Something went wrong on our side. Please try again.');
  assert.equal(sentence(new Error('boom')), 'Something went wrong on our side. Please try again.');
});
