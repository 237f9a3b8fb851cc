import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pollFiles } from '../../src/watch.js'
import { tempDir } from '../helpers/hub.js'

test('a file written in place is taken once, whole: a poll that saw it emptied does not count; a file renamed into place is taken at once', async () => {
  const dir = tempDir('othub-watch-')
  const file = join(dir, 'places.yml')
  writeFileSync(file, 'places: []\n')
  let polls = 0
  const read: string[] = []
  // the list is asked at every poll: the test writes between two polls it has seen
  const stop = pollFiles(() => { polls++; return [file] }, () => read.push(readFileSync(file, 'utf8')), 100)
  const afterPolls = async (n: number) => { const until = polls + n; while (polls < until) await new Promise((r) => setTimeout(r, 5)) }
  try {
    await afterPolls(1)
    writeFileSync(file, '') // what writeFileSync does first: the file emptied …
    await afterPolls(1) // … and a poll sees it so
    writeFileSync(file, 'places:\n  - name: school\n') // then its text
    await afterPolls(4)
    assert.deepEqual(read, ['places:\n  - name: school\n'])
    // a later change in place is taken too, once
    writeFileSync(file, 'places: []\n')
    await afterPolls(3)
    assert.deepEqual(read, ['places:\n  - name: school\n', 'places: []\n'])
    // a file put in place by rename (a new inode) is whole: taken at the first poll that sees it
    writeFileSync(file + '.tmp', 'places:\n  - name: park\n')
    renameSync(file + '.tmp', file)
    await afterPolls(1)
    assert.deepEqual(read.at(-1), 'places:\n  - name: park\n')
  } finally {
    stop()
  }
})
