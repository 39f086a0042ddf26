// The package's public API, named one by one: what a user of MigratedService writes or reads.
// Internal helpers stay in their modules (docs/ARCHITECTURE.md maps them).
export { MigratedService } from './migrated-service';
export type { MigratedServiceProps } from './migrated-service-props';
export type { MigrationOptions, MigrationRunOptions } from './run/options';
export type { PostRolloutOptions } from './post-rollout/options';
export type { AlertOptions } from './alerts/alert-options';
export { MigrationTool } from './migration-tool';
export type { AlembicOptions, CustomMigrationToolOptions, GooseOptions, MigrationDirOptions, TypeOrmOptions } from './migration-tool';
export { Waiter } from './waiter';
export type { K8sWaitForOptions, KubectlWaiterOptions } from './waiter';
export { Delivery } from './delivery';
export type { ArgoCdDeliveryOptions, FluxDeliveryOptions, HelmDeliveryOptions } from './delivery';
export type { RunAsOptions } from './pod/security';
export { ImageTag } from './image-tag';
export type { ImageTagFromContextOptions, ImageTagFromEnvOptions, ImageTagFromEnvOrContextOptions } from './image-tag';
export { MigrationLock, MigrationLockAccess } from './lock/migration-lock';
export type { LeaseMigrationLockOptions, MigrationLockAccessProps } from './lock/migration-lock';
export { MigrationHistory } from './history/migration-history';
export type { ConfigMapMigrationHistoryOptions } from './history/migration-history';
export { MigrationHistoryAccess } from './history/history-access';
export type { MigrationHistoryAccessProps } from './history/history-access';
