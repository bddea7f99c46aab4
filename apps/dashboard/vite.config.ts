import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The dashboard as static files for the api-gateway to serve at /dashboard/: Preact (with its React
 * compatibility layer for TanStack Query), our own typed client from source, no inline script or style
 * (the page's CSP allows none), everything bundled (nothing fetched from elsewhere at run time).
 */
export default defineConfig({
  root,
  base: '/dashboard/',
  logLevel: 'warn',
  resolve: {
    conditions: ['@wagw/source'],
    alias: { react: 'preact/compat', 'react-dom': 'preact/compat', 'react/jsx-runtime': 'preact/jsx-runtime' },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Small enough to inline would mean a data: script or style; the CSP wants files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
    rollupOptions: {
      // TanStack Query marks its modules "use client" for React server components, which a static
      // bundle has none of.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
