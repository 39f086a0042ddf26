import { rails } from './presets/rails';
import { proveTool } from './scenario';

proveTool(rails);
