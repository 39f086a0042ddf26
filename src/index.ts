export * from './migrated-service';
export * from './post-rollout';
export * from './migration-tool';
export * from './waiter';
export * from './delivery';
export * from './version-key';
export * from './security';
export * from './image-tag';
