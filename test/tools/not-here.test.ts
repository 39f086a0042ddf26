/**
 * Presets whose tool cannot be installed on these machines (only Debian's packages and the npm
 * registry are reachable). Each says why in one skipped test; docs/migration-tools.md marks them
 * "from the tool's documentation".
 */
import { notHere } from './scenario';

notHere('MigrationTool.prisma()', 'Prisma 7 downloads its schema engine from binaries.prisma.sh at first run (`prisma --version` fails: ENOTFOUND); no registry package ships it');
notHere('MigrationTool.flyway()', 'Flyway is not packaged by Debian 12 and its npm wrappers download it');
notHere('MigrationTool.liquibase()', 'Liquibase is not packaged by Debian 12 and its npm wrappers download it');
notHere('MigrationTool.atlas()', 'Atlas is not packaged by Debian 12; @ariga/atlas downloads the binary in its preinstall script');
notHere('MigrationTool.golangMigrate()', 'golang-migrate is not packaged by Debian 12 nor shipped on npm');
notHere('MigrationTool.goose()', 'goose is not packaged by Debian 12 nor shipped on npm');
