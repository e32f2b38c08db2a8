import { dataPaths, type CommonEnv } from '@ragline/config';
import type { Dependency } from '@ragline/bus';
import { StorageUnavailableError, createLocalStore, createS3Store, parseS3Endpoint, type ObjectStore, type StorageSettings } from '@ragline/storage';

/** MinIO/S3 when S3_ENDPOINT is set, else a local folder under RAGLINE_DATA_DIR. */
export function objectStoreFromConfig(cfg: Pick<CommonEnv, 'RAGLINE_DATA_DIR'> & StorageSettings): ObjectStore {
  if (!cfg.S3_ENDPOINT) return createLocalStore({ root: dataPaths(cfg).objects });
  return createS3Store({
    ...parseS3Endpoint(cfg.S3_ENDPOINT),
    accessKey: cfg.S3_ACCESS_KEY ?? '',
    secretKey: cfg.S3_SECRET_KEY ?? '',
    region: cfg.S3_REGION,
    bucket: cfg.S3_BUCKET,
    prefixPath: cfg.S3_PREFIX_PATH,
  });
}

/** The object store as a DependencyGate sees it: down while calls fail as unavailable, back when its health check passes. */
export function objectStoreDependency(store: ObjectStore): Dependency {
  return {
    name: 'object store',
    isOutage: (err) => err instanceof StorageUnavailableError,
    probe: () => store.health(),
  };
}
