import { env, z, type Settings } from '@ragline/config';

/**
 * Object storage settings: MinIO/S3 when S3_ENDPOINT is set, else a local folder under
 * RAGLINE_DATA_DIR/objects. Read by the parser (documents) and the CLI (ingest stores files).
 */
export const StorageSettings = {
  S3_ENDPOINT: env
    .optional(env.url(['http', 'https']))
    .describe('MinIO/S3 endpoint instead of the local folder `RAGLINE_DATA_DIR/objects` (bucket = kb id, object = document location; `minio.host` in `service_conf.yaml`)'),
  S3_ACCESS_KEY: env.optional(z.string()).meta({ description: 'S3 access key (`minio.user`)', requiredWhen: 'S3_ENDPOINT' }),
  S3_SECRET_KEY: env.optional(z.string()).meta({ description: 'S3 secret key (`minio.password`)', requiredWhen: 'S3_ENDPOINT' }),
  S3_REGION: env.optional(z.string()).describe('S3 region'),
  S3_BUCKET: env.optional(z.string()).describe("RAGFlow's single-bucket mode: every object in this bucket, keys `<prefix>/<kb_id>/<location>`"),
  S3_PREFIX_PATH: env.optional(z.string()).describe('key prefix in single-bucket mode (`minio.prefix_path`)'),
};
export type StorageSettings = Settings<typeof StorageSettings>;
