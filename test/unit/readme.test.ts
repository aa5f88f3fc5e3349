import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { checkMarkdownBlocks, extractBlocks } from '../../scripts/readme-blocks.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))
const tsconfig = `${root}tsconfig.json`
const readme = readFileSync(`${root}README.md`, 'utf8')

describe('the mock-socket recipe of README.md', () => {
  it('is test/unit/mock-socket-recipe.test.ts, word for word', () => {
    const test = readFileSync(`${root}test/unit/mock-socket-recipe.test.ts`, 'utf8')
    const region = /\/\/ #region readme\n([\s\S]*?)\/\/ #endregion readme\n/.exec(test)?.[1]
    expect(region, 'the test file marks its README region').toBeDefined()
    const section = readme.split('\n## Testing your app with mock-socket\n')[1]
    expect(section, 'README has a "Testing your app with mock-socket" section').toBeDefined()
    const block = extractBlocks(section ?? '')[0]
    expect(`${block?.code}\n`).toBe(region?.replace("'../../src/index.ts'", "'resilient-socket'"))
  })
})

describe('extractBlocks', () => {
  it('finds ts and tsx blocks with their first line, and honours no-check', () => {
    const markdown = [
      '# Title', // 1
      '```ts', // 2
      'const a = 1', // 3
      '```', // 4
      '```sh', // 5
      'npm test', // 6
      '```', // 7
      '````tsx no-check', // 8
      'const b = <p />', // 9
      '```', // 10: too short to close a four-backtick fence
      '````', // 11
    ].join('\n')
    expect(extractBlocks(markdown)).toEqual([
      { lang: 'ts', code: 'const a = 1', line: 3, check: true },
      { lang: 'tsx', code: 'const b = <p />\n```', line: 9, check: false },
    ])
  })

  it('refuses a block that is never closed', () => {
    expect(() => extractBlocks('text\n```ts\nconst a = 1\n')).toThrow(/line 2: .*never closed/)
  })
})

describe('checkMarkdownBlocks', () => {
  const markdown = [
    'Intro.', // 1
    '', // 2
    '```ts', // 3
    "import { ReconnectingSocket } from 'resilient-socket'", // 4
    "const socket = new ReconnectingSocket('ws://localhost:1')", // 5
    'socket.close(1005)', // 6: refused by the types
    '```', // 7
    '', // 8
    '```ts no-check', // 9
    'new ReconnectingSocket<Schema>(url, options?)', // 10: not a program, and says so
    '```', // 11
    '', // 12
    '```tsx', // 13
    "import { useSocket } from 'resilient-socket/react'", // 14
    'export function App() {', // 15
    "  const socket = useSocket<ChatSchema>('ws://localhost:1')", // 16: ChatSchema is in another block
    '  return <p>{socket.state}</p>', // 17
    '}', // 18
    '```', // 19
    '', // 20
    '```ts', // 21
    'const socket = 1', // 22: a block of its own, so `socket` may be declared again
    'export const doubled = socket * 2', // 23
    '```', // 24
  ].join('\n')

  // A whole TypeScript program (DOM and React typings): seconds on a busy machine.
  it('reports each error at its line of the Markdown file, each block on its own', {
    timeout: 60_000,
  }, () => {
    const problems = checkMarkdownBlocks(`${root}EXAMPLE.md`, markdown, tsconfig)
    expect(problems.map(({ line, column }) => ({ line, column }))).toEqual([
      { line: 6, column: 14 },
      { line: 16, column: 28 },
    ])
    expect(problems[0]?.message).toMatch(/'1005' is not assignable .*'CloseCode/)
    expect(problems[1]?.message).toMatch(/Cannot find name 'ChatSchema'/)
  })
})
