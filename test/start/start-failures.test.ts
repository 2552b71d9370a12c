import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { existsSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_CONFIG_TIMEOUT_MS } from '../../src/config/load.ts'
import { readSettings } from '../../src/app/settings.ts'
import { runFicus, type Finished } from '../helpers/processes.ts'

// Issue 14, point 6: every failure at start is one line `ficus: CODE: message` on stderr, a
// non-zero exit within a bounded time, and nothing left listening.

/** Generous for a loaded machine; a hang (the failure this guards against) would run into the test timeout. */
const BOUND_MS = 15_000

const VALID = {
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: 'http://127.0.0.1:4101' }, modern: { url: 'http://127.0.0.1:4102' } },
  slices: {
    'coverage-status': { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/policy/:id', rewrite: { modern: '/policies/:id' } }] },
  },
}

let dir: string
let validConfig: string
const blockers: Server[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ficus-start-failures-'))
  // An ES module package, so the configs may use top-level await.
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n')
  validConfig = await configFile('valid.config.ts', `export default ${JSON.stringify(VALID)}\n`)
})
afterEach(releaseBlockers)
afterAll(async () => {
  await chmod(join(dir, 'read-only'), 0o700).catch(() => undefined)
  await rm(dir, { recursive: true, force: true })
})

async function configFile(name: string, content: string): Promise<string> {
  const file = join(dir, name)
  await writeFile(file, content)
  return file
}

async function releaseBlockers(): Promise<void> {
  await Promise.all(blockers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = await occupy(0)
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  blockers.splice(blockers.indexOf(server), 1)
  return port
}

/** Listens on 127.0.0.1:port (closed after the test). */
async function occupy(port: number): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  blockers.push(server)
  return server
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(undefined)
    })
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code))
  })
}

interface Outcome extends Finished {
  readonly ms: number
  readonly ports: { readonly port: number; readonly adminPort: number }
}

/** `ficus <args>` on free ports (unless env names others) and a fresh data directory. */
async function ficus(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const ports = { port: await freePort(), adminPort: await freePort() }
  const started = Date.now()
  const finished = await runFicus(args, {
    HOST: '127.0.0.1',
    PORT: String(ports.port),
    ADMIN_PORT: String(ports.adminPort),
    FICUS_DATA_DIR: await mkdtemp(join(dir, 'data-')),
    ...env,
  })
  // A port the test chose (in use, or invalid) is checked when it is one; the free one otherwise.
  const chosen = (text: string | undefined, fallback: number): number =>
    text !== undefined && /^\d{1,5}$/.test(text) && Number(text) <= 65_535 ? Number(text) : fallback
  return { ...finished, ms: Date.now() - started, ports: { port: chosen(env.PORT, ports.port), adminPort: chosen(env.ADMIN_PORT, ports.adminPort) } }
}

/** Exactly one line `ficus: CODE: …` matching `message`, no stack, exit 1, in time, nothing listening. */
async function expectOneLineFailure(outcome: Outcome, code: string, message: RegExp): Promise<void> {
  const lines = outcome.stderr.split('\n').filter((line) => line !== '')
  expect(lines, outcome.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(new RegExp(`^ficus: ${code}: `))
  expect(lines[0]).toMatch(message)
  expect(outcome.stderr).not.toMatch(/\n\s+at /)
  expect(outcome.code, outcome.stderr).toBe(1)
  expect(outcome.ms).toBeLessThan(BOUND_MS)
  expect(outcome.stdout).not.toContain('"msg":"gateway listening"')
  expect(await connectError(outcome.ports.port)).toBe('ECONNREFUSED')
  expect(await connectError(outcome.ports.adminPort)).toBe('ECONNREFUSED')
}

describe('data directory', () => {
  it('FICUS_DATA_DIR is a file', async () => {
    const file = join(dir, 'a-file')
    await writeFile(file, 'not a folder\n')
    const outcome = await ficus(['start', '--config', validConfig], { FICUS_DATA_DIR: file })
    await expectOneLineFailure(outcome, 'FICUS_ERR_DATA_DIR', new RegExp(`FICUS_DATA_DIR ${file} is not a directory$`))
  })

  it('a folder the gateway writes in (comparisons) is a file', async () => {
    const data = await mkdtemp(join(dir, 'data-'))
    await writeFile(join(data, 'comparisons'), '')
    const outcome = await ficus(['start', '--config', validConfig], { FICUS_DATA_DIR: data })
    await expectOneLineFailure(outcome, 'FICUS_ERR_DATA_DIR', new RegExp(`FICUS_DATA_DIR ${data}: comparisons is not a directory$`))
  })

  it('the hash salt in the data directory cannot be read', async () => {
    const data = await mkdtemp(join(dir, 'data-'))
    await mkdir(join(data, 'hash-salt'))
    const outcome = await ficus(['start', '--config', validConfig], { FICUS_DATA_DIR: data })
    await expectOneLineFailure(outcome, 'FICUS_ERR_DATA_DIR', /: hash-salt cannot be read \(EISDIR/)
  })

  it('the data directory is not writable', async (context) => {
    let data: string
    if (process.getuid?.() === 0) {
      // chmod does not stop root; sysfs refuses root too, where there is one.
      data = '/sys'
      let writable = true
      try {
        writeFileSync('/sys/.ficus-write-check', '')
      } catch {
        writable = false
      }
      if (writable) context.skip('running as root, and /sys is writable here: no directory to test with')
    } else {
      data = join(dir, 'read-only')
      await mkdir(data)
      await chmod(data, 0o500)
    }
    const outcome = await ficus(['start', '--config', validConfig], { FICUS_DATA_DIR: data })
    await expectOneLineFailure(outcome, 'FICUS_ERR_DATA_DIR', new RegExp(`FICUS_DATA_DIR ${data} is not writable \\((EACCES|EPERM|EROFS)`))
  })

  it('a data directory that cannot be created fails at once (recursive mkdir spins for ever under /proc)', async (context) => {
    if (!existsSync('/proc/self')) context.skip('no /proc on this system')
    const outcome = await ficus(['start', '--config', validConfig], { FICUS_DATA_DIR: '/proc/ficus-data/instance' })
    await expectOneLineFailure(outcome, 'FICUS_ERR_DATA_DIR', /FICUS_DATA_DIR \/proc\/ficus-data\/instance: \/proc\/ficus-data cannot be created \(ENOENT/)
  })
})

describe('config import', () => {
  it('a config that throws at import', async () => {
    const file = await configFile('throws.config.ts', `throw new Error('no config today')\n`)
    await expectOneLineFailure(await ficus(['start', '--config', file]), 'FICUS_ERR_CONFIG_LOAD', new RegExp(`${file}: could not be loaded: no config today$`))
  })

  it('a config that starts a timer and then throws: the process still exits', async () => {
    const file = await configFile('timer.config.ts', `setInterval(() => {}, 1_000)\nthrow new Error('timer left running')\n`)
    await expectOneLineFailure(await ficus(['start', '--config', file]), 'FICUS_ERR_CONFIG_LOAD', /could not be loaded: timer left running$/)
  })

  it('a config that listens on a port and then throws: the process exits, and its port closes with it', async () => {
    const file = await configFile(
      'server.config.ts',
      `import { createServer } from 'node:net'\n` +
        `const server = createServer()\n` +
        `await new Promise((resolve) => server.listen(Number(process.env.CONFIG_SERVER_PORT), '127.0.0.1', resolve))\n` +
        `throw new Error('server left listening')\n`,
    )
    const configPort = await freePort()
    const outcome = await ficus(['start', '--config', file], { CONFIG_SERVER_PORT: String(configPort) })
    await expectOneLineFailure(outcome, 'FICUS_ERR_CONFIG_LOAD', /could not be loaded: server left listening$/)
    expect(await connectError(configPort)).toBe('ECONNREFUSED')
  })

  it('a config whose top-level await never settles: one line naming the file and the timeout (not a silent exit 13)', async () => {
    const file = await configFile('hangs.config.ts', `await new Promise(() => {})\nexport default ${JSON.stringify(VALID)}\n`)
    const outcome = await ficus(['start', '--config', file], { FICUS_CONFIG_TIMEOUT_MS: '1000' })
    await expectOneLineFailure(outcome, 'FICUS_ERR_CONFIG_TIMEOUT', new RegExp(`${file}: did not finish loading within 1000 ms .*FICUS_CONFIG_TIMEOUT_MS`))
  })

  it('waits 10 s for the config by default, and reads FICUS_CONFIG_TIMEOUT_MS', () => {
    expect(DEFAULT_CONFIG_TIMEOUT_MS).toBe(10_000)
    expect(readSettings({}, { isTTY: false }).configTimeoutMs).toBe(DEFAULT_CONFIG_TIMEOUT_MS)
    expect(readSettings({ FICUS_CONFIG_TIMEOUT_MS: '2500' }, { isTTY: false }).configTimeoutMs).toBe(2500)
  })
})

describe('ports', () => {
  it('PORT in use: names PORT and the port; the admin port is not left listening', async () => {
    const port = await freePort()
    await occupy(port)
    const outcome = await ficus(['start', '--config', validConfig], { PORT: String(port) })
    await releaseBlockers()
    await expectOneLineFailure(outcome, 'FICUS_ERR_LISTEN', new RegExp(`127\\.0\\.0\\.1:${port} is in use; set PORT to another port$`))
  })

  it('ADMIN_PORT in use: names ADMIN_PORT and the port; the gateway port it had opened is closed', async () => {
    const adminPort = await freePort()
    await occupy(adminPort)
    const outcome = await ficus(['start', '--config', validConfig], { ADMIN_PORT: String(adminPort) })
    // The gateway port was listening before the admin port failed: it is closed again.
    expect(outcome.stdout).toMatch(new RegExp(`Server listening at http://127\\.0\\.0\\.1:${outcome.ports.port}`))
    await releaseBlockers()
    await expectOneLineFailure(outcome, 'FICUS_ERR_LISTEN', new RegExp(`127\\.0\\.0\\.1:${adminPort} is in use; set ADMIN_PORT to another port$`))
  })

  it('a port in use with Redis and Kafka configured but unreachable: their clients do not keep the process alive', async () => {
    const adminPort = await freePort()
    await occupy(adminPort)
    const unreachable = await freePort()
    const outcome = await ficus(['start', '--config', validConfig], {
      ADMIN_PORT: String(adminPort),
      REDIS_URL: `redis://127.0.0.1:${unreachable}`,
      KAFKA_BROKERS: `127.0.0.1:${unreachable}`,
    })
    await releaseBlockers()
    await expectOneLineFailure(outcome, 'FICUS_ERR_LISTEN', /set ADMIN_PORT to another port$/)
  })
})

describe('environment', () => {
  it.each([
    ['PORT', 'abc', /PORT: must be a whole number from 0 to 65535 \(got "abc"\)$/],
    ['ADMIN_PORT', '70000', /ADMIN_PORT: must be a whole number from 0 to 65535 \(got "70000"\)$/],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent \(got "loud"\)$/],
    ['REDIS_URL', 'not-a-url', /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL \(got "not-a-url"\)$/],
    ['REDIS_URL', 'redis://cache:99999', /REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL \(got "redis:\/\/cache:99999"\)$/],
    ['KAFKA_BROKERS', 'kafka-1;kafka-2', /KAFKA_BROKERS: must be host:port\[,host:port...\] \(got "kafka-1;kafka-2"\)$/],
    ['KAFKA_BROKERS', 'kafka:99999', /KAFKA_BROKERS: must be host:port\[,host:port...\] \(got "kafka:99999"\)$/],
    [
      'FICUS_ADMIN_HOSTS',
      'https://admin.example.com',
      /FICUS_ADMIN_HOSTS: must be host names or IP addresses, comma-separated, without scheme, port or path \(got "https:\/\/admin.example.com"\)$/,
    ],
    ['FICUS_ADMIN_HOSTS', 'admin.example.com:9090', /FICUS_ADMIN_HOSTS: .* \(got "admin.example.com:9090"\)$/],
    ['FICUS_ADMIN_HOSTS', '*.example.com', /FICUS_ADMIN_HOSTS: .* \(got "\*.example.com"\)$/],
    ['FICUS_CONFIG_TIMEOUT_MS', 'soon', /FICUS_CONFIG_TIMEOUT_MS: must be a whole number of milliseconds from 1 to 2147483647 \(got "soon"\)$/],
  ])('%s=%s', async (name, value, message) => {
    const outcome = await ficus(['start', '--config', validConfig], { FICUS_ADMIN_TOKEN: 'a-long-enough-admin-token', [name]: value })
    await expectOneLineFailure(outcome, 'FICUS_ERR_ENV_INVALID', message)
  })

  it('accepts host names, IP addresses and bracketed IPv6 in FICUS_ADMIN_HOSTS', () => {
    const settings = readSettings(
      { FICUS_ADMIN_TOKEN: 'a-long-enough-admin-token', FICUS_ADMIN_HOSTS: 'admin.example.com, ficus_admin,10.0.0.7,[fd00::7],fd00::8' },
      { isTTY: false },
    )
    expect(settings.adminHosts).toEqual(expect.arrayContaining(['admin.example.com', 'ficus_admin', '10.0.0.7', '[fd00::7]', 'fd00::8']))
  })
})

describe('ficus validate', () => {
  it('a config that throws after starting a timer: one line, exit 1', async () => {
    const file = await configFile('validate-timer.config.ts', `setInterval(() => {}, 1_000)\nthrow new Error('timer left running')\n`)
    await expectOneLineFailure(await ficus(['validate', file]), 'FICUS_ERR_CONFIG_LOAD', /could not be loaded: timer left running$/)
  })

  it('a config whose top-level await never settles: one line after FICUS_CONFIG_TIMEOUT_MS, exit 1', async () => {
    const file = await configFile('validate-hangs.config.ts', `await new Promise(() => {})\nexport default ${JSON.stringify(VALID)}\n`)
    await expectOneLineFailure(
      await ficus(['validate', file], { FICUS_CONFIG_TIMEOUT_MS: '1000' }),
      'FICUS_ERR_CONFIG_TIMEOUT',
      new RegExp(`${file}: did not finish loading within 1000 ms`),
    )
  })

  it('a valid config that leaves a timer running: prints the route table and exits 0', async () => {
    const file = await configFile('validate-valid-timer.config.ts', `setInterval(() => {}, 1_000)\nexport default ${JSON.stringify(VALID)}\n`)
    const outcome = await ficus(['validate', file])
    expect(outcome.code).toBe(0)
    expect(outcome.stdout).toContain(': valid — 1 slice(s)')
    expect(outcome.ms).toBeLessThan(BOUND_MS)
  })
})
