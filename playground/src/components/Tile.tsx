import type { ReactNode } from 'react'

/** One figure of a panel: a label, the value (`testId`), and a hint under it (`testId-hint`). */
export function Tile({
  label,
  hint,
  testId,
  children,
}: {
  label: string
  hint: string
  testId: string
  children: ReactNode
}) {
  return (
    <div className="tile">
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
      <dd className="tile-hint" data-testid={`${testId}-hint`}>
        {hint}
      </dd>
    </div>
  )
}
