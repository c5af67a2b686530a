#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx so `npx genrelay` works right after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
