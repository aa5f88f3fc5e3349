// `npm run check:readme` (also run by `npm run typecheck`): every ```ts / ```tsx block of
// README.md must compile on its own, so that the examples cannot drift from the API. Mark a
// block that is deliberately not a program (a signature, a fragment) ```ts no-check.
import { readFileSync } from 'node:fs'
import { checkMarkdownBlocks, extractBlocks } from './readme-blocks.ts'

const file = 'README.md'
const markdown = readFileSync(file, 'utf8')
const blocks = extractBlocks(markdown)
const problems = checkMarkdownBlocks(file, markdown, 'tsconfig.json')
for (const { line, column, message } of problems) {
  console.error(line > 0 ? `${file}:${line}:${column} - ${message}` : message)
}
const checked = blocks.filter((block) => block.check).length
if (problems.length > 0) {
  console.error(`\ncheck:readme: ${problems.length} error(s) in the code blocks of ${file}`)
  process.exit(1)
}
console.log(
  `check:readme ok: ${checked} code block(s) of ${file} compile on their own` +
    ` (${blocks.length - checked} marked no-check)`,
)
