export * from './migrated-service';
export * from './migration-tool';
export * from './waiter';
export * from './delivery';
export * from './version-key';
export * from './security';
export * from './image-tag';
