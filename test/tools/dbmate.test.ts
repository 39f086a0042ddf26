import { dbmate } from './presets/dbmate';
import { proveTool } from './scenario';

proveTool(dbmate);
