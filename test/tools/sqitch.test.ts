import { sqitch } from './presets/sqitch';
import { proveTool } from './scenario';

proveTool(sqitch);
