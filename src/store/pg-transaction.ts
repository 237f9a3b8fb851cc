import type pg from 'pg'

/**
 * Runs `work` in one PostgreSQL transaction on a connection of its own: committed when it resolves,
 * rolled back when it throws (the error goes on to the caller), and the connection handed back to the
 * pool, or thrown away after a failure, which may have left it broken.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect()
  try {
    await c.query('begin')
    const out = await work(c)
    await c.query('commit')
    c.release()
    return out
  } catch (err) {
    await c.query('rollback').catch(() => {})
    c.release(err as Error)
    throw err
  }
}
