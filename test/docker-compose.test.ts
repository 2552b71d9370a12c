import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

interface Service {
  image?: string
  build?: string
  restart?: string
  command?: string[]
  ports?: string[]
  volumes?: string[]
  healthcheck?: { test: unknown }
  depends_on?: Record<string, { condition: string }>
  environment?: Record<string, string>
}

// No Docker engine here: the compose file and the Dockerfile are checked as text, for what the
// README promises and what a service in production needs.
const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8')
const compose = parse(read('../docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> }
const dockerfile = read('../Dockerfile')
const readme = read('../README.md')
const pkg = JSON.parse(read('../package.json')) as { version: string; scripts: Record<string, string> }
const nodeVersion = read('../.node-version').trim()

/** The Dockerfile's instructions, continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'))

describe('docker-compose.yml', () => {
  it('describes the production-like stack the README names, every service with a health check and a restart policy', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['examples', 'gateway', 'kafka', 'reconcile', 'redis', 'reporter'])
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test, name).toBeDefined()
      expect(service.restart, name).toBe('unless-stopped')
      expect(readme, name).toContain(`\`${name}\``)
    }
  })

  it('pins every image by an exact version', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image, name).toMatch(/^[a-z0-9./-]+:\d+\.\d+\.\d+$/)
    }
    const built = Object.values(compose.services).filter((service) => service.build !== undefined)
    expect(built.length).toBeGreaterThan(0)
    for (const service of built) expect(service.image).toBe(`ficus:${pkg.version}`)
  })

  it('runs the official Apache Kafka image at the version the tests use, keeping its data where the volume is mounted', () => {
    const pom = read('./kafka/pom.xml')
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]
    const kafka = compose.services.kafka!
    expect(kafka.image).toBe(`apache/kafka:${version}`)
    const mounted = kafka.volumes?.map((volume) => volume.split(':')[1])
    expect(kafka.environment?.KAFKA_LOG_DIRS).toBeDefined()
    expect(mounted).toContain(kafka.environment?.KAFKA_LOG_DIRS)
    expect(Object.keys(compose.volumes)).toContain(kafka.volumes?.[0]?.split(':')[0])
  })

  it('runs the gateway against Kafka and Redis, with the admin port on the host’s loopback unless told otherwise', () => {
    const gateway = compose.services.gateway!
    expect(gateway.depends_on).toEqual({
      kafka: { condition: 'service_healthy' },
      redis: { condition: 'service_healthy' },
      examples: { condition: 'service_healthy' },
    })
    expect(gateway.environment).toMatchObject({ KAFKA_BROKERS: 'kafka:19092', REDIS_URL: 'redis://redis:6379' })
    const admin = gateway.ports?.find((port) => port.endsWith(':9090'))
    expect(admin).toBe('${FICUS_ADMIN_BIND:-127.0.0.1}:9090:9090')
    // Client traffic is published; nothing else is.
    expect(gateway.ports).toEqual(['8080:8080', admin])
    for (const name of ['kafka', 'redis', 'examples', 'reporter', 'reconcile']) expect(compose.services[name]!.ports, name).toBeUndefined()
  })

  it('runs the example reconciliation nightly in a loop that resumes an unfinished run, keeping checkpoints in a volume', () => {
    const reconcile = compose.services.reconcile!
    const script = reconcile.command?.join(' ') ?? ''
    expect(script).toContain('node bin/ficus.js reconcile coverage-status --keys examples/reconcile-keys.txt')
    expect(script).toContain('--resume')
    expect(script).toMatch(/while true; do[\s\S]*sleep/)
    expect(reconcile.environment).toMatchObject({ KAFKA_BROKERS: 'kafka:19092', REDIS_URL: 'redis://redis:6379' })
    expect(reconcile.volumes).toContain('reconcile-data:/var/lib/ficus')
    expect(Object.keys(compose.volumes)).toContain('reconcile-data')
  })

  it('hashes the run’s comparisons with the gateway’s salt, so that a discrepancy has one signature whoever found it', () => {
    // Each service's data directory would otherwise make a salt of its own (hash-salt).
    const reconcile = compose.services.reconcile!
    const gateway = compose.services.gateway!
    const shared = gateway.environment?.FICUS_HASH_SALT !== undefined && reconcile.environment?.FICUS_HASH_SALT === gateway.environment.FICUS_HASH_SALT
    const readsGateways =
      (reconcile.volumes ?? []).includes('gateway-data:/var/lib/ficus-gateway:ro') &&
      /export FICUS_HASH_SALT="\$\$\(cat \/var\/lib\/ficus-gateway\/hash-salt\)"/.test(reconcile.command?.join(' ') ?? '') &&
      reconcile.depends_on?.gateway?.condition === 'service_healthy'
    expect(shared || readsGateways).toBe(true)
  })
})

describe('Dockerfile', () => {
  it('builds on the Node 24 slim image of .node-version, in every stage', () => {
    const from = instructions.filter((line) => line.startsWith('FROM '))
    expect(from.length).toBeGreaterThanOrEqual(1)
    expect(nodeVersion).toMatch(/^24\./)
    for (const line of from) expect(line).toMatch(new RegExp(`^FROM node:${nodeVersion.replace(/\./g, '\\.')}-slim( AS \\w+)?$`))
  })

  it('compiles at image time and runs the compiled code, installing production dependencies from the lockfile', () => {
    expect(instructions).toContain('RUN npm run build')
    expect(pkg.scripts.build).toContain('tsc -p tsconfig.build.json')
    const final = instructions.slice(instructions.lastIndexOf(instructions.filter((line) => line.startsWith('FROM ')).at(-1)!))
    expect(final.some((line) => /^RUN npm ci --omit=dev\b/.test(line))).toBe(true)
    expect(final).toContain('COPY --from=build /app/dist dist')
    expect(final.some((line) => line.includes('--conditions=ficus-dist'))).toBe(true)
    expect(final.some((line) => line.startsWith('COPY src'))).toBe(false)
  })

  it('runs as a non-root user with a health check against /readyz', () => {
    const user = instructions.filter((line) => line.startsWith('USER ')).at(-1)
    expect(user).toBeDefined()
    expect(user).not.toMatch(/^USER (root|0)(:|$)/)
    const healthcheck = instructions.find((line) => line.startsWith('HEALTHCHECK '))
    expect(healthcheck).toContain('/readyz')
    // The data directory belongs to that user.
    expect(instructions.some((line) => line.includes('chown node:node /var/lib/ficus'))).toBe(true)
    expect(instructions.indexOf(user!)).toBeGreaterThan(instructions.findIndex((line) => line.includes('chown node:node')))
  })
})
