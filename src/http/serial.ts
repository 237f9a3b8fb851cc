/**
 * Runs changes one at a time, in the order they were asked for, so two requests never write a file from
 * the same old copy. A change that fails does not stop the next; its caller gets the failure.
 */
export function serialQueue(): <T>(run: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve()
  return (run) => {
    const p = last.then(run, run)
    last = p.catch(() => {})
    return p
  }
}
