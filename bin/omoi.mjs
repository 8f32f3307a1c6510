#!/usr/bin/env node
// The terminal client (`npx omoi …`): loads its TypeScript entry through tsx, as `npm start` runs the server.
import { register } from 'tsx/esm/api'

register()
await import('../src/cli/main.ts')
