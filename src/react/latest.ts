import { type RefObject, useInsertionEffect, useRef } from 'react'

/**
 * A ref that always holds the value of the latest committed render, so a subscription made
 * once can call a callback that changes on every render without resubscribing. Updated in
 * an insertion effect: before any layout or passive effect of the same commit reads it, and
 * never from a render React may still throw away.
 */
export function useLatest<T>(value: T): RefObject<T> {
  const ref = useRef(value)
  useInsertionEffect(() => {
    ref.current = value
  })
  return ref
}
