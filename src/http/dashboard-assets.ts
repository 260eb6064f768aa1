import { readFileSync } from 'node:fs';

const FILES: Record<string, string> = {
  '/index.html': 'text/html; charset=utf-8',
  '/dashboard.js': 'text/javascript; charset=utf-8',
  '/dashboard.css': 'text/css; charset=utf-8',
};

/** The dashboard's files (the package's dashboard/ folder: plain HTML, CSS and JS, no build), read once. */
export function loadDashboard(): Record<string, { contentType: string; body: Buffer }> {
  return Object.fromEntries(
    Object.entries(FILES).map(([path, contentType]) => [path, { contentType, body: readFileSync(new URL(`../../dashboard${path}`, import.meta.url)) }]),
  );
}
