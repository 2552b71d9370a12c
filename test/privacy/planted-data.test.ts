import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Comparison } from '../../src/compare/comparison.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { GatewayConfig } from '../../src/config/types.ts'
import { comparisonOf, readComparisons } from '../helpers/comparisons.ts'
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts'
import { send } from '../helpers/http-client.ts'
import { readTopics, uniqueTopics } from '../helpers/kafka.ts'
import { runFicus } from '../helpers/processes.ts'
import { startUpstream, type TestUpstream } from '../helpers/upstream-server.ts'

// Issue 14, point 5: no personal data in published events by default. A name, an email and a token
// are planted everywhere two answers can carry them — map keys, values, untranslated codes, a
// translation function's error, response headers — and everywhere a request can — headers, query.
// None of them may reach the comparisons (JSONL, Kafka), the logs, the admin listing or a report.
const NAME = 'Aurelia Quimby-Hart'
const EMAIL = 'aurelia.quimby@hart-mail.example'
const TOKEN = 'tok_Zq8vN3rXp4Lm'
const PLANTED = [NAME, EMAIL, TOKEN]

/** Every form a planted string could be published in: as is, lower-case, URL- and form-encoded. */
const FORMS = PLANTED.flatMap((value) => [
  value,
  value.toLowerCase(),
  encodeURIComponent(value),
  encodeURIComponent(value).replace(/%20/g, '+'),
  value.replace(/ /g, '+'),
])
/** Distinctive fragments, looked for case-insensitively: whatever the encoding, these would show. */
const FRAGMENTS = ['aurelia', 'quimby', 'zq8vn3rxp4lm']

function expectNothingPlanted(text: string, where: string): void {
  expect(text.length, `${where} is empty: the check would prove nothing`).toBeGreaterThan(0)
  for (const form of FORMS) expect(text.includes(form), `${where} holds ${JSON.stringify(form)}`).toBe(false)
  const lower = text.toLowerCase()
  for (const fragment of FRAGMENTS) expect(lower.includes(fragment), `${where} holds ${JSON.stringify(fragment)}`).toBe(false)
}

// The config is a module file, so that `ficus report --config` judges the evidence under the very
// rules (and rules hash, translation function included) the gateway made it with. No planted string
// is in it: whatever turns up comes from the traffic.
function configSource(legacyUrl: string, modernUrl: string): string {
  return `export default {
  sides: { legacy: 'legacy', modern: 'modern' },
  upstreams: { legacy: { url: '${legacyUrl}', timeoutMs: 5000 }, modern: { url: '${modernUrl}', timeoutMs: 5000 } },
  readiness: { minSamples: 0, minMatchRate: 0, maxConflictRate: 100, maxShadowErrorRate: 100, latency: false, minSoakHours: 0 },
  slices: {
    'holder-claims': {
      description: 'Claims per holder',
      authority: 'legacy',
      entityKey: { param: 'id' },
      routes: [{ method: 'GET', path: '/holders/:id/claims' }],
      shadow: { noise: { sample: 100 } },
      translate: {
        version: 'claims/1',
        legacy: {
          values: { '/status': { ACTV: 'ACTIVE' }, '/holderCode': { H1: 'holder-1' }, '/byHolder/*/tier': { GOLD: 'gold' } },
          coerce: { '/contact/since': 'date:YYYYMMDD' },
        },
      },
      compare: {
        headers: ['content-type', 'x-holder', 'x-holder-email', 'x-session-token', 'set-cookie'],
        clearUntranslated: ['/status'],
        model: { required: ['/byHolder/*/claims'], formats: { '/contact/email': 'email' } },
      },
    },
    'holder-media': {
      description: 'Answers whose content-type parameters and content-coding carry what they should not',
      authority: 'legacy',
      routes: [{ method: 'GET', path: '/media/:id' }],
      shadow: {},
    },
    'holder-lookup': {
      description: 'A slice that declares nothing but a translation function that fails loudly',
      authority: 'legacy',
      routes: [{ method: 'GET', path: '/lookup/:id' }],
      shadow: {},
      translate: { version: 'lookup/1', legacy: { fn: (body) => { throw new Error('no rule for ' + JSON.stringify(body)) } } },
    },
  },
}
`
}

let calls = 0
function legacyAnswer(request: IncomingMessage, response: ServerResponse): void {
  calls += 1
  if (request.url?.startsWith('/media/')) {
    // A media type's parameters are free text: here a name and an address.
    response.writeHead(200, { 'content-type': `application/json; owner="${NAME}"; contact=${EMAIL}` })
    response.end('{"a":1}')
    return
  }
  response.writeHead(200, {
    'content-type': 'application/json',
    'x-holder': NAME,
    'x-holder-email': EMAIL,
    'x-session-token': TOKEN,
    'set-cookie': `session=${TOKEN}`,
  })
  if (request.url?.startsWith('/lookup/')) {
    response.end(JSON.stringify({ [NAME]: { email: EMAIL, token: TOKEN } }))
    return
  }
  response.end(
    JSON.stringify({
      policyNumber: 'P-1',
      status: 'PNDC', // a code the translation does not know, allowed in clear: the control
      holderCode: NAME, // an unknown "code" that is a name
      byHolder: { [NAME]: { claims: 2, tier: TOKEN }, [EMAIL]: { tier: 'GOLD' } },
      contact: { email: NAME, since: EMAIL }, // breaks the email format; fails the date coercion
      seen: { [NAME]: calls }, // changes on every call: learned as noise, under a data key
      notes: `Call ${NAME} at ${EMAIL} with ${TOKEN}`,
    }),
  )
}

function modernAnswer(request: IncomingMessage, response: ServerResponse): void {
  if (request.url?.startsWith('/media/')) {
    // A content coding nobody knows, named with a token: the body cannot be read.
    response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': TOKEN })
    response.end('{"a":2}')
    return
  }
  response.writeHead(200, {
    'content-type': 'application/json',
    'x-holder': 'someone else',
    'x-holder-email': EMAIL.toUpperCase(),
    'x-session-token': `${TOKEN}-2`,
    'set-cookie': `session=${TOKEN}-2`,
  })
  if (request.url?.startsWith('/lookup/')) {
    response.end(JSON.stringify({ [NAME]: { email: EMAIL.toUpperCase() }, [EMAIL]: TOKEN }))
    return
  }
  response.end(
    JSON.stringify({
      policyNumber: 'P-1',
      status: 'PENDING_CANCELLATION',
      holderCode: 'holder-1',
      byHolder: { [NAME]: { claims: 3, tier: 'gold' }, [EMAIL]: { claims: 1, tier: 'gold' } },
      contact: { email: EMAIL, since: '2020-01-01' },
      seen: { [NAME]: 1 },
      notes: 'none',
      [TOKEN]: true, // a key only modern has
      echo: request.url, // the request's query, planted strings and all
    }),
  )
}

/** A request carrying the planted strings in its headers and query. */
async function plantedRequest(gateway: TestGateway, path: string, requestId: string): Promise<void> {
  const query = `?holder=${encodeURIComponent(NAME)}&email=${encodeURIComponent(EMAIL)}&token=${TOKEN}`
  const headers = {
    'x-request-id': requestId,
    authorization: `Bearer ${TOKEN}`,
    cookie: `session=${TOKEN}`,
    'x-customer-name': NAME,
    'x-customer-email': EMAIL,
  }
  expect((await send(`${gateway.url}${path}${query}`, { headers })).status).toBe(200)
}

async function filesUnder(dir: string): Promise<string> {
  let text = ''
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) text += `${await readFile(join(entry.parentPath, entry.name), 'utf8')}\n`
  }
  return text
}

let legacy: TestUpstream
let modern: TestUpstream
let dir: string
let configFile: string
let config: GatewayConfig

beforeAll(async () => {
  legacy = await startUpstream('legacy', legacyAnswer)
  modern = await startUpstream('modern', modernAnswer)
  dir = await mkdtemp(join(tmpdir(), 'ficus-privacy-'))
  configFile = join(dir, 'routes.config.ts')
  await writeFile(configFile, configSource(legacy.url, modern.url))
  config = await loadConfig(configFile)
})
afterAll(async () => {
  await legacy.close()
  await modern.close()
  await rm(dir, { recursive: true, force: true })
})

describe('planted personal data, embedded gateway (JSONL)', () => {
  let gateway: TestGateway
  let records: Comparison[]
  const REQUESTS = 5

  beforeAll(async () => {
    gateway = await startTestGateway(config)
    for (let i = 0; i < REQUESTS; i++) {
      await plantedRequest(gateway, '/holders/P-1/claims', `claims-${i}`)
      await comparisonOf(gateway.dataDir, `claims-${i}`)
    }
    await plantedRequest(gateway, '/lookup/L-1', 'lookup-0')
    await comparisonOf(gateway.dataDir, 'lookup-0')
    await plantedRequest(gateway, '/media/M-1', 'media-0')
    const media = await comparisonOf(gateway.dataDir, 'media-0')
    // Not vacuous: the media type and the coding are there, as tokens only.
    expect(media.primary.contentType).toBe('application/json')
    expect(JSON.stringify(media)).toContain('content-encoding other')
    records = (await readComparisons(gateway.dataDir)).records
  })
  afterAll(async () => {
    await gateway.stop()
  })

  it('judges the planted answers as it would any others: the check is not vacuous', () => {
    const claims = records.filter((record) => record.slice === 'holder-claims')
    expect(claims).toHaveLength(REQUESTS)
    const last = claims.at(-1)!
    expect(last).toMatchObject({ family: 'translation-defect', entityKey: 'P-1' })
    // Data keys are hashed, keys the config names are not; the same key, the same segment every time.
    // Two holders' claims differ: two hashed segments, the same two in every comparison.
    const claimPaths = claims.map((record) =>
      record.diff
        .map((entry) => entry.path)
        .filter((path) => path.endsWith('/claims'))
        .sort(),
    )
    expect(claimPaths[0]).toEqual([
      expect.stringMatching(/^\/body\/byHolder\/#[0-9a-f]{16}\/claims$/) as string,
      expect.stringMatching(/^\/body\/byHolder\/#[0-9a-f]{16}\/claims$/) as string,
    ])
    expect(new Set(claimPaths.map((paths) => paths.join()))).toEqual(new Set([claimPaths[0]!.join()]))
    expect(last.diff.map((entry) => entry.path)).toContain('/headers/x-holder')
    // The status code the slice allows in clear is in clear; the other untranslated values are hashed.
    expect(last.untranslated).toContainEqual({ path: '/body/status', rule: 'values', value: 'PNDC' })
    expect(
      last.untranslated.filter((item) => item.path !== '/body/status').every((item) => item.value === undefined && /^hmac-sha256:/.test(item.valueHash ?? '')),
    ).toBe(true)
    expect(last.untranslated.map((item) => item.rule).sort()).toEqual(['coerce', 'values', 'values', 'values'])
    expect(last.violations?.map((violation) => violation.rule).sort()).toEqual(['format', 'required'])
    // Noise was learned on repeated evidence, on a path the config never names: hashed all along.
    expect(last.noisePaths).toEqual([expect.stringMatching(/^\/body\/#[0-9a-f]{16}\/#[0-9a-f]{16}$/) as string])
    expect(last.primary.bodyHash).toMatch(/^hmac-sha256:[0-9a-f]{32}$/)
    const lookup = records.find((record) => record.slice === 'holder-lookup')!
    expect(lookup.untranslated).toEqual([{ path: '/body', rule: 'fn', valueHash: expect.stringMatching(/^hmac-sha256:/) as string }])
  })

  it('leaves no planted string in the comparisons, nor anywhere in the data directory', async () => {
    expectNothingPlanted((await readComparisons(gateway.dataDir)).text, 'comparisons JSONL')
    expectNothingPlanted(await filesUnder(gateway.dataDir), 'the data directory')
  })

  it('leaves none in the logs, the noise listing or the metrics', async () => {
    // Every request was logged (its path, never its query or headers).
    expect(gateway.logs.filter((line) => line.msg === 'request')).toHaveLength(REQUESTS + 2)
    expectNothingPlanted(gateway.logs.map((line) => JSON.stringify(line)).join('\n'), 'the gateway log')
    const noise = await send(`${gateway.adminUrl}/admin/slices/holder-claims/noise`)
    expect(noise.body).toMatch(/"path":"\/body\/#[0-9a-f]{16}\/#[0-9a-f]{16}","state":"learned"/)
    expectNothingPlanted(noise.body, 'the admin noise listing')
    expectNothingPlanted((await send(`${gateway.adminUrl}/metrics`)).body, 'the metrics')
  })

  it('leaves none in the report, in any format, which still counts a hashed path once per comparison', async () => {
    for (const format of ['text', 'json', 'md', 'html']) {
      const result = await runFicus(['report', '--config', configFile, '--source', 'jsonl', '--data-dir', gateway.dataDir, '--format', format])
      expect(result.code, `${format}: ${result.stderr}`).toBe(0)
      expectNothingPlanted(result.stdout + result.stderr, `the ${format} report`)
      if (format === 'json') {
        const report = JSON.parse(result.stdout) as { slices: { slice: string; topPaths: { path: string; count: number }[] }[] }
        const claims = report.slices.find((slice) => slice.slice === 'holder-claims')!
        expect(claims.topPaths.find((entry) => /^\/body\/byHolder\/#[0-9a-f]{16}\/claims$/.test(entry.path))?.count).toBe(REQUESTS)
      }
    }
  })
})

describe('planted personal data, published to Kafka', () => {
  it('leaves no planted string in the messages: values, keys or headers, nor in the report read from the topic', async () => {
    const brokers = inject('kafkaBrokers')
    const topics = uniqueTopics(brokers)
    const gateway = await startTestGateway(config, { env: topics.env })
    try {
      await plantedRequest(gateway, '/holders/P-1/claims', 'kafka-claims')
      await plantedRequest(gateway, '/lookup/L-1', 'kafka-lookup')
      const reader = await readTopics(brokers, [topics.comparisons])
      try {
        await reader.until((messages) => messages.length >= 2, 'both comparisons')
        expectNothingPlanted(JSON.stringify(reader.messages), 'the Kafka messages')
      } finally {
        await reader.close()
      }
      const report = await runFicus(['report', '--config', configFile, '--source', 'kafka', '--topic', topics.comparisons, '--format', 'json'], {
        KAFKA_BROKERS: brokers,
      })
      expect(report.code, report.stderr).toBe(0)
      expectNothingPlanted(report.stdout + report.stderr, 'the report read from Kafka')
      expectNothingPlanted(gateway.logs.map((line) => JSON.stringify(line)).join('\n'), 'the gateway log')
    } finally {
      await gateway.stop()
    }
  })
})
