import { sequelize } from './presets/sequelize';
import { proveTool } from './scenario';

proveTool(sequelize);
