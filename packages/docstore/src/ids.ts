import { DocStoreError } from './errors.js';

// Every id a store puts into a filter, a SQL predicate (LanceDB) or an index name (Elasticsearch)
// is checked here first, whichever backend it goes to.

/** Chunk ids are hex, RAGFlow's kb/doc ids uuid hex: nothing outside this alphabet is ever valid. */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,256}$/;
/** Tenant ids name tables and indexes, so no dot either. */
const SAFE_TENANT = /^[A-Za-z0-9_-]{1,128}$/;

export function checkId(kind: string, value: unknown): string {
  if (typeof value !== 'string' || !SAFE_ID.test(value)) {
    throw new DocStoreError(`invalid ${kind} ${JSON.stringify(value)}: only [A-Za-z0-9_.-] allowed`, false);
  }
  return value;
}

export function checkTenant(tenantId: unknown): string {
  if (typeof tenantId !== 'string' || !SAFE_TENANT.test(tenantId)) {
    throw new DocStoreError(`invalid tenant id ${JSON.stringify(tenantId)}: only [A-Za-z0-9_-] allowed`, false);
  }
  return tenantId;
}
