import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * Served under /app/ (web/README.md "Routing"); hashed file names under assets/ are what makes
 * them cacheable forever. The root (web/app) and outDir are given by src/build.ts.
 */
export default defineConfig({
  base: '/app/',
  plugins: [preact()],
  build: {
    target: 'es2022',
    assetsDir: 'assets',
    sourcemap: false,
    // uPlot is only needed on the analytics page: its own chunk, loaded when a link is opened.
    chunkSizeWarningLimit: 200,
  },
});
