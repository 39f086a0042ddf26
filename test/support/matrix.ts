/**
 * Every delivery target, waiter and migration tool preset, by a lowercase key (tests use it in
 * service names): the matrix that the golden synth test and the real-cluster validation cover.
 */
import { Delivery, MigrationTool, Waiter } from '../../src';

export const DELIVERIES: { [key: string]: () => Delivery } = {
  flux: () => Delivery.flux(),
  argocd: () => Delivery.argoCd(),
  helm: () => Delivery.helm(),
  kubectl: () => Delivery.kubectl(),
};

export const WAITERS: { [key: string]: () => Waiter } = {
  k8swaitfor: () => Waiter.k8sWaitFor(),
  kubectl: () => Waiter.kubectl(),
  schemacheck: () => Waiter.schemaCheck(),
  none: () => Waiter.none(),
};

/** Every preset, and a custom tool with a check command. */
export const MIGRATION_TOOLS: { [key: string]: () => MigrationTool } = {
  prisma: () => MigrationTool.prisma(),
  alembic: () => MigrationTool.alembic(),
  flyway: () => MigrationTool.flyway(),
  liquibase: () => MigrationTool.liquibase(),
  atlas: () => MigrationTool.atlas(),
  golangmigrate: () => MigrationTool.golangMigrate(),
  goose: () => MigrationTool.goose(),
  dbmate: () => MigrationTool.dbmate(),
  django: () => MigrationTool.django(),
  rails: () => MigrationTool.rails(),
  knex: () => MigrationTool.knex(),
  typeorm: () => MigrationTool.typeorm(),
  sequelize: () => MigrationTool.sequelize(),
  sqitch: () => MigrationTool.sqitch(),
  custom: () => MigrationTool.custom({ name: 'my-migrator', command: ['/app/migrate'], checkCommand: ['/app/check'] }),
};
