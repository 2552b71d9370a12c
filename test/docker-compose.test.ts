import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

interface Service {
  image?: string
  build?: string
  healthcheck?: { test: unknown }
  depends_on?: Record<string, { condition: string }>
  environment?: Record<string, string>
}

// No Docker engine here: the compose file is checked as YAML, for what the README promises.
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as { services: Record<string, Service> }
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')

describe('docker-compose.yml', () => {
  it('describes the production-like stack the README names, every service with a health check', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['examples', 'gateway', 'kafka', 'redis', 'reporter'])
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.healthcheck?.test, name).toBeDefined()
      expect(readme, name).toContain(`\`${name}\``)
    }
  })

  it('runs the official Apache Kafka image at the version the tests use, and the gateway against Kafka and Redis', () => {
    const pom = readFileSync(new URL('./kafka/pom.xml', import.meta.url), 'utf8')
    const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom)?.[1]
    expect(compose.services.kafka?.image).toBe(`apache/kafka:${version}`)
    const gateway = compose.services.gateway!
    expect(gateway.depends_on).toEqual({ kafka: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' }, examples: { condition: 'service_healthy' } })
    expect(gateway.environment).toMatchObject({ KAFKA_BROKERS: 'kafka:19092', REDIS_URL: 'redis://redis:6379' })
  })
})
