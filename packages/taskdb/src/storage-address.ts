import type { Row } from './connection.js';
import { str } from './rows.js';

/**
 * RAGFlow's get_storage_address (docs/ragflow-compatibility.md §10 Storage addressing), the one
 * copy of the rule: a document uploaded through the file manager (a file2document link to a file
 * whose source_type is '') lives in its folder's bucket under the file's location; every other
 * document in its knowledge base's bucket under its own location.
 */

/** The joins a query over `document d` adds to read the address columns. */
export const STORAGE_ADDRESS_JOIN = 'LEFT JOIN file2document f2d ON f2d.document_id = d.id LEFT JOIN file f ON f.id = f2d.file_id';
/** The columns storageAddress() reads, from `document d` and STORAGE_ADDRESS_JOIN. */
export const STORAGE_ADDRESS_COLUMNS = `d.kb_id AS addr_kb_id, d.location AS addr_doc_location,
  f.parent_id AS addr_file_parent_id, f.location AS addr_file_location, f.source_type AS addr_file_source_type`;

export interface StorageAddress {
  bucket: string;
  name: string;
}

export function storageAddress(r: Row): StorageAddress {
  const parent = r['addr_file_parent_id'];
  const fileManager = parent !== null && parent !== undefined && !r['addr_file_source_type'];
  return fileManager
    ? { bucket: str(parent), name: str(r['addr_file_location']) }
    : { bucket: str(r['addr_kb_id']), name: str(r['addr_doc_location']) };
}
