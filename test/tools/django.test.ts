import { django } from './presets/django';
import { proveTool } from './scenario';

proveTool(django);
