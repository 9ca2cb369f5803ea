// Starts a real `hienmau serve` on a throwaway SQLite database and creates its first users
// with the binary's own `user create` command, as an operator would.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

/** The debug binary `cargo build -p hienmau-api --bin hienmau` makes, unless HIENMAU_BIN names another. */
export function serverBinary(): string {
  const bin = process.env.HIENMAU_BIN
    ? path.resolve(REPO_ROOT, process.env.HIENMAU_BIN)
    : path.join(process.env.CARGO_TARGET_DIR ?? path.join(REPO_ROOT, 'target'), 'debug', 'hienmau');
  if (!existsSync(bin)) {
    throw new Error(
      `no hienmau binary at ${bin}: run \`cargo build -p hienmau-api --bin hienmau\` or set HIENMAU_BIN`,
    );
  }
  return bin;
}

/** The first port of the range that nothing listens on (HIENMAU_E2E_PORTS="18300-18399" by default). */
export async function freePort(): Promise<number> {
  const [lo, hi] = (process.env.HIENMAU_E2E_PORTS ?? '18300-18399').split('-').map(Number);
  for (let port = lo; port <= hi; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${lo}-${hi}`);
}

export interface Server {
  dir: string;
  baseURL: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  logPath: string;
}

function baseEnv(dir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL: `sqlite://${path.join(dir, 'h.db')}`,
    // Fixed test secrets, so that every command of the run signs and chains alike.
    HIENMAU_JWT_SECRET: 'browser-tests-token-secret-0123456789-abcdefghijklmnop',
    HIENMAU_AUDIT_KEY: 'browser-tests-audit-key-0123456789-ABCDEFGHIJKLMNOPQRS',
    HIENMAU_TIMEZONE: 'Asia/Ho_Chi_Minh',
    // The web session the app asks for is 12 hours; the tests need far less, but a short
    // lifetime would only add a way to fail.
    HIENMAU_TOKEN_TTL_MINUTES: '720',
    RUST_LOG: process.env.RUST_LOG ?? 'warn',
  };
}

/** `hienmau user create`, the password on standard input; returns the new user's id. */
export function createUser(
  server: Pick<Server, 'dir' | 'env'>,
  user: { username: string; password: string; role: string; chapter?: string; hospital?: string },
): string {
  const args = ['user', 'create', '--username', user.username, '--role', user.role];
  if (user.chapter) args.push('--chapter', user.chapter);
  if (user.hospital) args.push('--hospital', user.hospital);
  const out = spawnSync(serverBinary(), args, {
    cwd: server.dir,
    env: server.env,
    input: `${user.password}\n`,
    encoding: 'utf8',
  });
  if (out.status !== 0) {
    throw new Error(`hienmau ${args.join(' ')} failed (${out.status}): ${out.stderr}`);
  }
  const id = out.stdout.trim().split(/\s+/).pop() ?? '';
  if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`user create printed no id: ${out.stdout}`);
  return id;
}

/** A fresh folder and the environment every command of the run shares. */
export async function prepare(): Promise<Pick<Server, 'dir' | 'env' | 'baseURL'>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'hienmau-browser-'));
  const port = await freePort();
  return { dir, env: { ...baseEnv(dir), HIENMAU_BIND: `127.0.0.1:${port}` }, baseURL: `http://127.0.0.1:${port}` };
}

export async function startServer(prepared: Pick<Server, 'dir' | 'env' | 'baseURL'>): Promise<Server> {
  const { dir, env, baseURL } = prepared;
  const logPath = path.join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  // cwd is the empty folder: built-in defaults, no config file from the developer's clone.
  const child = spawn(serverBinary(), ['serve'], { cwd: dir, env, stdio: ['ignore', log, log] });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`hienmau serve exited (${child.exitCode}):\n${readFileSync(logPath, 'utf8')}`);
    }
    try {
      const res = await fetch(`${baseURL}/ready`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`hienmau serve not ready after 60 s:\n${readFileSync(logPath, 'utf8')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { dir, baseURL, env, child, logPath };
}
