// After `vite build`: writes the hashed asset list and a version (a hash of that list) into
// dist/sw.js, so that a new build installs a new shell and the same build gives the same file.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const assets = readdirSync(new URL('assets/', dist)).sort().map((f) => `/assets/${f}`);
const hash = createHash('sha256');
for (const a of assets) hash.update(a).update(readFileSync(new URL(`.${a}`, dist)));
hash.update(readFileSync(new URL('index.html', dist)));
const version = hash.digest('hex').slice(0, 16);
const swUrl = new URL('sw.js', dist);
const sw = readFileSync(swUrl, 'utf8')
  .replace("const VERSION = 'dev';", `const VERSION = '${version}';`)
  .replace('const ASSETS = [];', `const ASSETS = ${JSON.stringify(assets)};`);
if (!sw.includes(version)) throw new Error('sw.js: VERSION placeholder not found');
writeFileSync(swUrl, sw);
console.log(`sw.js: shell ${version}, ${assets.length} assets`);
