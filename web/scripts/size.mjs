// Prints the gzipped size of the built JavaScript and CSS; fails over the budget.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const LIMIT = 100 * 1024;
const dir = new URL('../dist/assets/', import.meta.url);
let total = 0;
for (const f of readdirSync(dir).sort()) {
  if (!/\.(js|css)$/.test(f)) continue;
  const raw = readFileSync(new URL(f, dir));
  const gz = gzipSync(raw, { level: 9 }).length;
  total += gz;
  console.log(`${f}\t${raw.length} B\t${gz} B gzipped`);
}
const sw = gzipSync(readFileSync(new URL('../sw.js', dir)), { level: 9 }).length;
console.log(`sw.js\t${sw} B gzipped (not counted: not part of the page)`);
console.log(`total JS+CSS gzipped: ${(total / 1024).toFixed(1)} kB (limit ${LIMIT / 1024} kB)`);
if (total > LIMIT) {
  console.error('over the size budget');
  process.exit(1);
}
