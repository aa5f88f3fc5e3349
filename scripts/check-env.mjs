// Fails fast, with a fix, when npm scripts would run on the wrong Node.
//
// The project pins Node 22 as the devDependency `node`, which puts a real Node 22 binary in
// node_modules/.bin, first on PATH for every npm script. If npm skipped install scripts
// (`npm ci --ignore-scripts`, `ignore-scripts=true` in an .npmrc) that binary is missing and
// scripts silently run on the system Node instead, whose missing global WebSocket then shows up
// as hundreds of confusing test failures. Plain JavaScript on purpose: it must run on old Node.

const required = 22
const major = Number(process.versions.node.split('.')[0])
const problems = []

if (!(major >= required)) {
  problems.push(
    `Node ${process.versions.node} is running (${process.execPath}); Node >= ${required} is required.`,
  )
}
if (typeof globalThis.WebSocket !== 'function') {
  problems.push('This Node has no global WebSocket (it is built in from Node 22).')
}

if (problems.length > 0) {
  const lines = [
    '',
    'resilient-socket: wrong runtime for the npm scripts.',
    ...problems.map((problem) => `  - ${problem}`),
    '',
    'Fix: reinstall with install scripts enabled, so the pinned Node 22 (devDependency "node")',
    'lands in node_modules/.bin, which npm scripts put first on PATH:',
    '',
    '    rm -rf node_modules && npm ci',
    '',
    'Do not pass --ignore-scripts, and check that no .npmrc sets ignore-scripts=true.',
    'Alternatively put Node 22 or newer first on your PATH.',
    '',
  ]
  console.error(lines.join('\n'))
  process.exit(1)
}

console.log(`check:env ok: Node ${process.versions.node}, global WebSocket present`)
