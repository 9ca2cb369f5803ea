// One server for the run: a fresh SQLite database in a temporary folder, the first admin made
// with `hienmau user create`, the rest seeded through the HTTP API. The tests read the seeded
// world from the JSON file named by HIENMAU_E2E_WORLD.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FullConfig } from '@playwright/test';
import { createUser, freePort, prepare, REPO_ROOT, startServer } from './harness/server';
import { serveDist } from './harness/static';
import { ADMIN, seedWorld } from './harness/seed';

export default async function globalSetup(_config: FullConfig): Promise<() => Promise<void>> {
  const prepared = await prepare();
  const adminId = createUser(prepared, { ...ADMIN, role: 'admin' });
  const server = await startServer(prepared);
  const stop = async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
  };
  let closeStatic = async () => {};
  try {
    const world = await seedWorld(server, adminId);
    if (process.env.HIENMAU_E2E_WEB_DIST) {
      const port = await freePort();
      const dist = path.resolve(REPO_ROOT, process.env.HIENMAU_E2E_WEB_DIST);
      const web = await serveDist(dist, server.baseURL, port);
      closeStatic = () => {
        web.closeAllConnections();
        return new Promise((r) => web.close(() => r()));
      };
      world.baseURL = `http://127.0.0.1:${port}`;
    }
    const file = path.join(server.dir, 'world.json');
    writeFileSync(file, JSON.stringify(world, null, 2));
    process.env.HIENMAU_E2E_WORLD = file;
  } catch (e) {
    await stop();
    throw new Error(`seeding failed: ${String(e)}\n--- server log ---\n${readFileSync(server.logPath, 'utf8')}`);
  }
  return async () => {
    await closeStatic();
    await stop();
    if (process.env.HIENMAU_E2E_KEEP) {
      console.log(`kept ${server.dir}`);
    }
  };
}
