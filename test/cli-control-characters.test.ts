import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateConfig } from '../src/config/validate.ts'
import { comparison } from './helpers/generated-comparisons.ts'
import { sampleConfig, startTestGateway, type TestGateway } from './helpers/gateway.ts'
import { send } from './helpers/http-client.ts'
import { runFicus } from './helpers/processes.ts'
import { startUpstream, type TestUpstream } from './helpers/upstream-server.ts'

// Free text from the admin API or from comparison records reaches the operator's terminal: an
// escape sequence, a carriage return or a bidi override in it must not rewrite what they see.
// JSON output stays exact.

/** Any control character but the newlines the output format itself writes. */
const CONTROLS = /(?!\n)\p{Cc}|\p{Bidi_Control}|[\u2028\u2029]/u
const hostile = (word: string): string => `${word}\u001b[2J\u001b]0;pwned\u0007\r${word.toUpperCase()}-FORGED\n\u202Egnp.exe\u2066iso\u2069\u009b31m\u007f`

const TOKEN = 'cli-control-token-0123456789abcdef'
let legacy: TestUpstream
let modern: TestUpstream
let gateway: TestGateway
let env: NodeJS.ProcessEnv
let dir: string

beforeAll(async () => {
  legacy = await startUpstream('legacy')
  modern = await startUpstream('modern')
  gateway = await startTestGateway(sampleConfig(legacy.url, modern.url), { env: { FICUS_ADMIN_TOKEN: TOKEN } })
  env = { FICUS_ADMIN_URL: gateway.adminUrl, FICUS_ADMIN_TOKEN: TOKEN, FICUS_ACTOR: 'ana@platform' }
  dir = await mkdtemp(join(tmpdir(), 'ficus-controls-'))
})
afterAll(async () => {
  await gateway.stop()
  await legacy.close()
  await modern.close()
  await rm(dir, { recursive: true, force: true })
})

function expectPrintable(output: string, ...words: string[]): void {
  expect(output).not.toMatch(CONTROLS)
  for (const word of words) {
    expect(output).toContain(word)
    expect(output).toContain(`${word}\\u001b[2J\\u001b]0;pwned\\u0007\\r${word.toUpperCase()}-FORGED\\n\\u202egnp.exe`)
  }
}

describe('admin commands print free text without control characters', () => {
  it('flip, status and history', async () => {
    const flipped = await runFicus(['flip', 'policy-status', '25%', '--reason', hostile('because')], env)
    expect(flipped.code).toBe(0)
    expectPrintable(flipped.stdout, 'because')
    const api = await send(`${gateway.adminUrl}/admin/slices/policy-status/authority`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ authority: 'modern', reason: hostile('reason'), actor: hostile('mallory') }),
    })
    expect(api.status).toBe(200)

    const status = await runFicus(['status'], env)
    expect(status.code).toBe(0)
    expectPrintable(status.stdout, 'reason', 'mallory')
    // One row per slice: the newline in the reason did not start another.
    expect(
      status.stdout
        .trim()
        .split('\n')
        .filter((line) => line.startsWith('policy-status')),
    ).toHaveLength(1)

    const history = await runFicus(['history'], env)
    expect(history.code).toBe(0)
    expectPrintable(history.stdout, 'reason', 'mallory', 'because')
    expect(history.stdout.trim().split('\n')).toHaveLength(3)

    const json = await runFicus(['history', '--json'], env)
    expect(JSON.parse(json.stdout)).toMatchObject([{ reason: hostile('reason'), actor: hostile('mallory') }, { reason: hostile('because') }])
  })
})

describe('report and validate print free text without control characters', () => {
  let base: string[]

  beforeAll(async () => {
    const config = join(dir, 'routes.config.ts')
    const slices = { 'coverage-status': { description: hostile('described'), authority: 'legacy', routes: [{ method: 'GET', path: '/c/:id' }] } }
    const input = {
      sides: { legacy: 'legacy', modern: 'modern' },
      upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
      slices,
    }
    await writeFile(config, `export default ${JSON.stringify(input)}\n`)
    // Made under the slice's current rules, so that the report shows them.
    const rulesHash = validateConfig(input).slices[0]!.compare.rulesHash
    // What the records carry comes from the upstreams' answers and from whoever writes the topic.
    const records = [
      ...Array.from({ length: 3 }, () =>
        comparison({
          slice: 'coverage-status',
          rulesHash,
          category: 'untranslated',
          diffPaths: [`/body/${hostile('path')}`],
          untranslated: [{ path: '/body/status', value: hostile('value') }],
          requestId: hostile('request'),
        }),
      ),
      comparison({ slice: hostile('slice'), category: 'shadow-error', cause: hostile('cause'), route: `GET ${hostile('route')}` }),
      comparison({ slice: hostile('slice'), route: 'GET /other' }),
    ]
    await mkdir(join(dir, 'data', 'comparisons'), { recursive: true })
    await writeFile(join(dir, 'data', 'comparisons', 'comparisons.jsonl'), `${records.map((record) => JSON.stringify(record)).join('\n')}\n`)
    base = ['report', '--config', config, '--data-dir', join(dir, 'data')]
  })

  it('text', async () => {
    const text = await runFicus(base)
    expect(text.stderr).toBe('')
    expectPrintable(text.stdout, 'described', 'path', 'value', 'request', 'slice', 'cause', 'route')
  })

  it('markdown', async () => {
    const md = await runFicus([...base, '--format', 'md'])
    expect(md.stderr).toBe('')
    expect(md.stdout).not.toMatch(CONTROLS)
    for (const word of ['described', 'path', 'value', 'request', 'slice'])
      expect(md.stdout).toContain(`${word}\\u001b[2J\\u001b]0;pwned\\u0007\\r${word.toUpperCase()}-FORGED`)
  })

  it('JSON stays exact', async () => {
    const json = JSON.parse((await runFicus([...base, '--format', 'json'])).stdout) as { slices: { slice: string; description: string | null }[] }
    expect(json.slices.map((slice) => slice.slice).sort()).toEqual(['coverage-status', hostile('slice')].sort())
    expect(json.slices.find((slice) => slice.slice === 'coverage-status')?.description).toBe(hostile('described'))
  })

  it('validate', async () => {
    const validated = await runFicus(['validate', join(dir, 'routes.config.ts')])
    expect(validated.code).toBe(0)
    expectPrintable(validated.stdout, 'described')
  })
})
