/**
 * `create_rest_endpoint` / `drop_rest_endpoint` (docs/docs/api-reference/metadata-api/
 * restified-endpoints.mdx; upstream RQL/DDL/Endpoint.hs and RQL/Types/Endpoint.hs FromJSON).
 * Pure edits; whether the endpoint resolves (collection, query, path shape, ambiguity) is judged
 * when the engine rebuilds (endpoints.ts), and a new inconsistency refuses the change.
 */
import type { Metadata } from '../contract.ts';
import { alreadyExists, badRequest, notExists } from '../errors.ts';
import type { MetadataOp } from '../admin/ops.ts';
import { METHODS, endpointsOf, type EndpointMetadata, type Method } from './endpoints.ts';

function setEndpoints(m: Metadata, list: EndpointMetadata[]): void {
  if (list.length) m.rest_endpoints = list;
  else delete m.rest_endpoints;
}

const createRestEndpoint: MetadataOp = (m, args) => {
  for (const k of ['name', 'url', 'methods', 'definition']) if (args[k] === undefined || args[k] === null) throw badRequest('parse-failed', `key "${k}" not found`);
  const { name, url } = args;
  if (typeof name !== 'string') throw badRequest('parse-failed', 'parsing Text failed, expected String', '$.args.name');
  // EndpointUrl is a NonEmptyText: upstream reports it at `$.url` (its parser's own path).
  if (typeof url !== 'string') throw badRequest('parse-failed', 'parsing Text failed, expected String', '$.url');
  if (url === '') throw badRequest('parse-failed', 'empty string not allowed', '$.url');
  const methods = args.methods;
  if (!Array.isArray(methods) || methods.length === 0) throw badRequest('parse-failed', 'parsing NonEmpty failed, unexpected empty list', '$.args.methods');
  for (const [i, x] of methods.entries()) {
    if (!(METHODS as readonly unknown[]).includes(x)) throw badRequest('parse-failed', `Error when parsing EndpointMethod: expected one of ${METHODS.join(', ')}`, `$.args.methods[${i}]`);
  }
  const q = (args.definition as { query?: { collection_name?: unknown; query_name?: unknown } }).query;
  if (!q || typeof q.collection_name !== 'string' || typeof q.query_name !== 'string') {
    throw badRequest('parse-failed', 'key "query" with "collection_name" and "query_name" not found', '$.args.definition');
  }
  const list = endpointsOf(m);
  if (list.some((e) => e.name === name)) throw alreadyExists(`Endpoint with name: ${name} already exists`);
  const entry: EndpointMetadata = {
    name,
    url,
    methods: [...new Set(methods as Method[])],
    definition: { query: { collection_name: q.collection_name, query_name: q.query_name } },
  };
  if (typeof args.comment === 'string') entry.comment = args.comment;
  setEndpoints(m, [...list, entry]);
};

const dropRestEndpoint: MetadataOp = (m, args) => {
  const name = args.name;
  if (typeof name !== 'string') throw badRequest('parse-failed', 'key "name" not found');
  const list = endpointsOf(m);
  if (!list.some((e) => e.name === name)) throw notExists(`endpoint with name: ${name} does not exist`);
  setEndpoints(m, list.filter((e) => e.name !== name));
};

export const restOps: Record<string, MetadataOp> = {
  create_rest_endpoint: createRestEndpoint,
  drop_rest_endpoint: dropRestEndpoint,
};
