interface SparklineProps {
  values: readonly number[]
  /** What the values are, for the accessible name. */
  label: string
  unit: string
  /** Shown while there are fewer than two values. */
  placeholder: string
}

const WIDTH = 300
const HEIGHT = 44
const PAD = 4

/** A tiny line chart of recent values, scaled to its own maximum (which it labels). */
export function Sparkline({ values, label, unit, placeholder }: SparklineProps) {
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
  const round = (value: number) => `${Math.round(value)} ${unit}`
  return (
    <figure className="sparkline-box">
      <svg
        className="sparkline"
        viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        data-points={values.length}
        aria-label={`${label}: ${values.length} samples, latest ${round(values.at(-1) ?? 0)}, highest ${round(max)}`}
      >
        <polyline
          points={`${PAD},${HEIGHT - PAD} ${points.join(' ')} ${WIDTH - PAD},${HEIGHT - PAD}`}
          className="sparkline-area"
        />
        <polyline points={points.join(' ')} className="sparkline-line" />
        <circle cx={last[0]} cy={last[1]} r="3" className="sparkline-dot" />
      </svg>
      <figcaption className="sparkline-caption" aria-hidden="true">
        <span>
          {label}, last {values.length}
        </span>
        <span>highest {round(max)}</span>
      </figcaption>
    </figure>
  )
}
