import { typeorm } from './presets/typeorm';
import { proveTool } from './scenario';

proveTool(typeorm);
