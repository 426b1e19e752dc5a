// Build step (`npm run build`): stores the embedded default's parsed document beside the bundle (config/embedded.ts).
import { storeDocument } from './embedded.js';
import { parseYamlText } from './load.js';

process.stdout.write(`stored ${await storeDocument(parseYamlText)}\n`);
