import { afterAll } from 'vitest'
import { removeTempDirs } from './temp.ts'

// A setup file (vitest.config.ts): registered before a file's own hooks, so it runs after them, once servers are stopped.
afterAll(removeTempDirs)
