import { defineConfig } from 'vite';

// The API server for `npm run dev` (HIENMAU_DEV_API, e.g. http://127.0.0.1:18201).
const api = process.env.HIENMAU_DEV_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  // No @preact/preset-vite: it needs Babel, and Vite's own TSX handling is enough.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // A module preload polyfill would be an inline script: CSP forbids it.
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    port: Number(process.env.PORT ?? 18210),
    proxy: { '/api': api },
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
