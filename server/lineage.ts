import { randomBytes } from 'node:crypto'

/**
 * A fresh lineage for a session whose inbound commits were lost: 48 random bits, enough
 * that two rollbacks of one session never draw the same one.
 */
export function newLineage(): string {
  return randomBytes(6).toString('base64url')
}
