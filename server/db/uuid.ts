const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * Whether an id taken from a URL can be compared with a uuid column: PostgreSQL refuses anything else
 * with an error (22P02) where the caller means "no such row".
 */
export function isUuid(id: string): boolean {
  return UUID.test(id)
}
