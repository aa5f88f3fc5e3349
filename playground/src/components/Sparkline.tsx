interface SparklineProps {
  values: readonly number[]
  /** Shown while there are fewer than two values. */
  placeholder: string
}

const WIDTH = 300
const HEIGHT = 44
const PAD = 4

/** A tiny line chart of recent values, scaled to its own maximum. */
export function Sparkline({ values, placeholder }: SparklineProps) {
  if (values.length < 2) {
    return <div className="sparkline sparkline-empty">{placeholder}</div>
  }
  const max = Math.max(...values, 1)
  const step = (WIDTH - 2 * PAD) / (values.length - 1)
  const points = values.map((value, i) => {
    const x = PAD + i * step
    const y = HEIGHT - PAD - (value / max) * (HEIGHT - 2 * PAD)
    return `${x.toFixed(1)},${y.toFixed(1)}`
  })
  const last = points.at(-1)?.split(',') ?? ['0', '0']
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      role="img"
      aria-label={`round-trip times, latest ${values.at(-1)} ms, highest ${max} ms`}
    >
      <polyline
        points={`${PAD},${HEIGHT - PAD} ${points.join(' ')} ${WIDTH - PAD},${HEIGHT - PAD}`}
        className="sparkline-area"
      />
      <polyline points={points.join(' ')} className="sparkline-line" />
      <circle cx={last[0]} cy={last[1]} r="3" className="sparkline-dot" />
    </svg>
  )
}
