#!/usr/bin/env node
// `node bench/redis.ts [--rounds N]`: the `redis` section of `npm run bench` alone (the Redis
// session store next to the memory store; see store-cost.ts), the same as
// `npm run bench -- redis`: it prints the section's table and writes
// bench/.tmp/results-redis.json. Kept as an entry of its own because the README names it.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const run = fileURLToPath(new URL('./run.ts', import.meta.url))
const child = spawnSync(process.execPath, [run, 'redis', ...process.argv.slice(2)], {
  stdio: 'inherit',
})
process.exit(child.status ?? 1)
