// Typechecks the TypeScript code blocks of a Markdown file, each on its own, as a user who
// copies one into an empty file would see it: against the project's tsconfig.json, with
// `resilient-socket` and `resilient-socket/react` mapped to src/ by its `paths`. Used by
// scripts/check-readme.ts (`npm run check:readme`, part of `npm run typecheck`).
//
// A block is ```ts or ```tsx. A block that is deliberately not a program (a signature, a
// fragment) says so in its info string: ```ts no-check. Nothing is written to disk: the
// blocks are virtual files beside the Markdown file, so that module resolution finds the
// project's node_modules exactly as it would for a file there.
import { dirname, join, resolve } from 'node:path'
import ts from 'typescript'

export interface CodeBlock {
  /** `ts` or `tsx`. */
  readonly lang: 'ts' | 'tsx'
  readonly code: string
  /** The 1-based line of the Markdown file on which the code starts (after the fence). */
  readonly line: number
  readonly check: boolean
}

export interface BlockProblem {
  /** 1-based line in the Markdown file. */
  readonly line: number
  readonly column: number
  readonly message: string
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)([^`]*)$/

/** The ts/tsx fenced blocks of `markdown`, in order. Other languages are left out. */
export function extractBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/)
  const blocks: CodeBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string)
    if (!open) continue
    const [, fence = '', lang = '', rest = ''] = open
    const start = i + 1
    let end = start
    // A fence closes on the same character, at least as long, and nothing else on the line.
    while (end < lines.length && !isClosing(lines[end] as string, fence)) end++
    if (end === lines.length) throw new Error(`line ${i + 1}: code block is never closed`)
    const tag = lang.toLowerCase()
    if (tag === 'ts' || tag === 'tsx') {
      blocks.push({
        lang: tag,
        code: lines.slice(start, end).join('\n'),
        line: start + 1,
        check: !rest.split(/\s+/).includes('no-check'),
      })
    }
    i = end
  }
  return blocks
}

function isClosing(line: string, fence: string): boolean {
  const trimmed = line.trim()
  return trimmed.length >= fence.length && trimmed === (fence[0] as string).repeat(trimmed.length)
}

/**
 * Typechecks every checked block of `markdownPath` on its own. Returns the problems with
 * Markdown line numbers; an empty array means every block compiles.
 */
export function checkMarkdownBlocks(
  markdownPath: string,
  markdown: string,
  tsconfigPath: string,
): BlockProblem[] {
  const blocks = extractBlocks(markdown).filter((block) => block.check)
  if (blocks.length === 0) return []
  const config = ts.readConfigFile(tsconfigPath, ts.sys.readFile)
  if (config.error) throw new Error(formatDiagnostic(config.error))
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(tsconfigPath))
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true }

  // `export {}` makes every block a module, as a file of its own would be with its imports:
  // two blocks may both declare `socket`, and top-level `await` is allowed. Appended, so the
  // block's lines keep their numbers.
  const dir = dirname(resolve(markdownPath))
  const virtual = new Map<string, { block: CodeBlock; text: string }>()
  blocks.forEach((block, index) => {
    const file = join(dir, `${baseName(markdownPath)}.block-${index + 1}.${block.lang}`)
    virtual.set(file, { block, text: `${block.code}\nexport {}\n` })
  })

  const host = ts.createCompilerHost(options)
  const { fileExists, readFile, getSourceFile } = host
  host.fileExists = (file) => virtual.has(file) || fileExists.call(host, file)
  host.readFile = (file) => virtual.get(file)?.text ?? readFile.call(host, file)
  host.getSourceFile = (file, languageVersion, ...rest) => {
    const entry = virtual.get(file)
    return entry
      ? ts.createSourceFile(file, entry.text, languageVersion, true)
      : getSourceFile.call(host, file, languageVersion, ...rest)
  }

  const program = ts.createProgram([...virtual.keys()], options, host)
  const problems: BlockProblem[] = []
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const entry = diagnostic.file ? virtual.get(diagnostic.file.fileName) : undefined
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    if (!entry || !diagnostic.file || diagnostic.start === undefined) {
      // An error outside the blocks (the options, a library) is still an error of the check.
      problems.push({ line: 0, column: 0, message: formatDiagnostic(diagnostic) })
      continue
    }
    const at = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
    problems.push({ line: entry.block.line + at.line, column: at.character + 1, message })
  }
  return problems.sort((a, b) => a.line - b.line || a.column - b.column)
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path
}

function formatDiagnostic(diagnostic: ts.Diagnostic): string {
  return ts.formatDiagnostic(diagnostic, {
    getCanonicalFileName: (file) => file,
    getCurrentDirectory: () => process.cwd(),
    getNewLine: () => '\n',
  })
}
