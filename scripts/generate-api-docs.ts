import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderApiDocs } from './api-docs.js';

const target = resolve(import.meta.dirname, '../docs/API.md');
writeFileSync(target, renderApiDocs());
process.stderr.write(`wrote ${target}\n`);
