import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { OPTIONS, loadConfig } from '../../src/config.js'
import { exampleConfig } from '../../src/ops/config-file.js'

const EXAMPLE = fileURLToPath(new URL('../../../hub.example.yml', import.meta.url))

test('hub.example.yml documents every option with its default, exactly as generated from OPTIONS', () => {
  assert.equal(readFileSync(EXAMPLE, 'utf8'), exampleConfig(), "hub.example.yml is stale: regenerate it with 'node dist/src/cli.js config example > hub.example.yml'")
  for (const key of Object.keys(OPTIONS)) if (key !== 'config') assert.match(exampleConfig(), new RegExp(`^#? ?${key}:`, 'm'), key)
})

test('loading the example file gives the defaults', () => {
  assert.deepEqual(loadConfig({ config: EXAMPLE }, {}), { ...loadConfig({}, {}), config: EXAMPLE })
})
