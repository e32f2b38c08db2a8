/**
 * Document metadata as RAGFlow keeps it: one entry per document in the tenant's metadata index
 * `ragflow_doc_meta_<tenant_id>` (`id` = doc id, `kb_id`, `meta_fields` object). Current RAGFlow
 * (DocMetadataService) has no MySQL column for it any more; the doc store is where it reads it.
 */
export type DocMetadataFields = Record<string, unknown>;

export const docMetaIndexName = (tenantId: string) => `ragflow_doc_meta_${tenantId}`;

/** RAGFlow's doc_meta_es_mapping.json: keyword id and kb_id, meta_fields a dynamic object. */
export const DOC_META_INDEX_BODY = {
  settings: { index: { number_of_shards: 2, number_of_replicas: 0, refresh_interval: '1000ms' } },
  mappings: {
    _source: { enabled: true },
    dynamic: 'runtime',
    properties: {
      id: { type: 'keyword', store: true },
      kb_id: { type: 'keyword', store: true },
      meta_fields: { type: 'object', dynamic: true },
    },
  },
} as const;

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isScalar = (v: unknown) => v === null || ['string', 'boolean', 'number'].includes(typeof v);

/** Keeps the first of items whose String() is equal (Python's str() dedupe of RAGFlow's dedupe_list). */
function dedupe<T>(values: T[]): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * RAGFlow's update_metadata_to: merges `meta` into `into` (which it changes and returns). String
 * values and string lists are merged into lists without duplicates; scalars replace; structured
 * values (objects, lists of objects, e.g. a PDF outline) are only added when the key is absent.
 * Merging the same metadata twice gives the same result, so a redelivered batch changes nothing.
 */
export function updateMetadataTo(into: DocMetadataFields, meta: DocMetadataFields | undefined | null): DocMetadataFields {
  if (!meta || typeof meta !== 'object') return into;
  for (const [k, raw] of Object.entries(meta)) {
    let v = raw;
    if (Array.isArray(v)) {
      if (isStringList(v)) {
        if (v.length === 0) continue;
        v = dedupe(v);
      } else {
        if (!(k in into)) into[k] = v;
        continue;
      }
    } else if (!isScalar(v)) {
      if (!(k in into)) into[k] = v;
      continue;
    }
    if (!(k in into)) {
      into[k] = v;
      continue;
    }
    const cur = into[k];
    if (Array.isArray(cur) && (Array.isArray(v) || typeof v === 'string')) {
      if (!isStringList(cur)) continue;
      into[k] = dedupe([...cur, ...(Array.isArray(v) ? (v as string[]) : [v as string])]);
    } else {
      into[k] = v;
    }
  }
  return into;
}

/**
 * RAGFlow's DocMetadataService._split_combined_values: list items that hold several values joined by
 * 、 , ， ; ； or | become separate items (an LLM often answers "A、B、C" for three names), deduplicated.
 */
export function splitCombinedValues(meta: DocMetadataFields): DocMetadataFields {
  const out: DocMetadataFields = {};
  for (const [k, v] of Object.entries(meta)) {
    if (!Array.isArray(v)) {
      out[k] = v;
      continue;
    }
    const items: unknown[] = [];
    for (const item of v) {
      if (typeof item !== 'string') {
        items.push(item);
        continue;
      }
      const parts = item
        .trim()
        .split(/[、,，;；|]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      items.push(...(parts.length ? parts : [item]));
    }
    out[k] = dedupe(items);
  }
  return out;
}

/** What the stored entry becomes when `meta` is merged into `existing`, as RAGFlow's task executor does it. */
export function mergedDocMetadata(existing: DocMetadataFields | undefined, meta: DocMetadataFields): DocMetadataFields {
  // RAGFlow: update_metadata_to(new, existing), i.e. the existing values are merged into the new ones
  return splitCombinedValues(updateMetadataTo(structuredClone(meta), existing ?? {}));
}
