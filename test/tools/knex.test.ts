import { knex } from './presets/knex';
import { proveTool } from './scenario';

proveTool(knex);
