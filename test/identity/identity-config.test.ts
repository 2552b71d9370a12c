import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GatewayConfigInput } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { IdentityMaps } from '../../src/identity/identity-maps.ts'
import { replaceQueryValues } from '../../src/identity/map-request.ts'
import { readPairs } from '../../src/identity/pair-file.ts'
import type { FicusError } from '../../src/errors/errors.ts'

function configProblems(validate: () => unknown): string[] {
  try {
    validate()
  } catch (err) {
    return ((err as FicusError).details.issues as { path: string; message: string }[]).map((issue) => `${issue.path}: ${issue.message}`)
  }
  return []
}

const base = (slice: Record<string, unknown>, maps: Record<string, unknown> = { 'claim-ids': { file: 'ids.csv' } }): GatewayConfigInput =>
  ({
    sides: { legacy: 'legacy', modern: 'modern' },
    upstreams: { legacy: { url: 'http://127.0.0.1:1' }, modern: { url: 'http://127.0.0.1:2' } },
    identityMaps: maps,
    slices: { claims: { description: 'd', authority: 'legacy', routes: [{ method: 'GET', path: '/claims/:claimNo' }], ...slice } },
  }) as GatewayConfigInput

describe('identity maps in the routes config', () => {
  it('says where a map, a route id or a body id is wrong', () => {
    const problems = configProblems(() =>
      validateConfig(
        base(
          {
            routes: [
              { method: 'GET', path: '/claims/:claimNo', ids: [{ param: 'claimId', map: 'claim-ids' }, { query: 'q', map: 'nope' }, { map: 'claim-ids' }] },
            ],
            translate: { version: 'v1', legacy: { ids: { claimNo: 'claim-ids' } } },
          },
          { 'claim-ids': { file: 'ids.csv' }, Bad_Name: { file: 'x.txt' }, both: { file: 'a.csv', redis: true } },
        ),
      ),
    )
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('slices.claims.routes[0].ids[0].param: ":claimId" is not a parameter of the route path "/claims/:claimNo"'),
        expect.stringContaining('slices.claims.routes[0].ids[1].map: names the identity map "nope", which identityMaps does not declare (declared: claim-ids)'),
        expect.stringContaining('slices.claims.routes[0].ids[2]: must name exactly one of param, query or header (got 0)'),
        expect.stringContaining('must be a JSON pointer starting with "/" (got "claimNo")'),
        expect.stringContaining('identityMaps.Bad_Name: identity map names are kebab-case'),
        expect.stringContaining('identityMaps.Bad_Name.file: must end in .csv or .jsonl'),
        expect.stringContaining('identityMaps.both: must name exactly one of file or redis'),
      ]),
    )
  })

  it('refuses to map a header only the gateway sets, the same value twice, or one body place on both sides', () => {
    const problems = configProblems(() =>
      validateConfig(
        base({
          routes: [
            {
              method: 'GET',
              path: '/claims/:claimNo',
              ids: [
                { header: 'Host', map: 'claim-ids' },
                { param: 'claimNo', map: 'claim-ids' },
                { param: 'claimNo', map: 'claim-ids' },
              ],
            },
          ],
          translate: { version: 'v1', legacy: { ids: { '/id': 'claim-ids' } }, modern: { ids: { '/id': 'claim-ids' } } },
        }),
      ),
    )
    expect(problems).toEqual([
      'slices.claims.routes[0].ids[0].header: "Host" is managed by the gateway and cannot be mapped',
      'slices.claims.routes[0].ids[2]: maps the param "claimNo" a second time',
      expect.stringContaining("maps /id as translate.legacy.ids does too: map an id in one side's body only"),
    ])
  })

  it('maps a route value for the side the client does not speak for', () => {
    const config = validateConfig(
      base({ routes: [{ method: 'GET', path: '/claims/:claimNo', ids: [{ param: 'claimNo', map: 'claim-ids', client: 'modern' }] }] }),
    )
    expect(config.slices[0]?.routes[0]?.ids).toEqual([{ from: 'param', name: 'claimNo', map: 'claim-ids', side: 'legacy' }])
    expect(config.slices[0]?.missingIdentity).toBe('error')
    expect(config.identityMaps.get('claim-ids')).toMatchObject({ source: { kind: 'file', file: 'ids.csv', format: 'csv' }, lookupTimeoutMs: 50 })
  })
})

describe('pair files', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ficus-pairs-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('reads CSV with quoted fields and JSON lines, and names each bad line', async () => {
    expect(await readPairs(Readable.from(['modern,legacy\n', '"n,1","P ""1"""\n', '\n', 'n-2,P-2\r\n']), 'csv')).toEqual([
      { legacy: 'P "1"', modern: 'n,1' },
      { legacy: 'P-2', modern: 'n-2' },
    ])
    await expect(readPairs(Readable.from(['{"legacy":"P-1","modern":"n-1"}\n', '[1]\n', '{"legacy":"P-3","modern":5}\n', 'nope\n']), 'jsonl')).rejects.toThrow(
      'line 2: is not an object {"legacy": …, "modern": …}; line 3: the new id is empty or not a string; line 4: is not JSON',
    )
    await expect(readPairs(Readable.from(['legacy;modern\n']), 'csv')).rejects.toThrow('line 1: the first line must be the header "legacy,modern"')
    await expect(readPairs(Readable.from([`legacy,modern\nP-1,${'x'.repeat(300)}\nP-2,"open\n`]), 'csv')).rejects.toThrow(
      'line 2: the new id is longer than 256 characters; line 3: has an unterminated quoted field',
    )
  })

  it('refuses to open a file that maps one id to two, naming both pairs', async () => {
    await writeFile(join(dir, 'clash.csv'), 'legacy,modern\nP-1,n-1\nP-1,n-2\nP-3,n-1\n')
    const configs = validateConfig(base({}, { 'claim-ids': { file: join(dir, 'clash.csv') } })).identityMaps
    await expect(IdentityMaps.open({ configs })).rejects.toMatchObject({
      code: 'FICUS_ERR_IDENTITY_MAP_UNREADABLE',
      message: expect.stringContaining('"P-1" ↔ "n-2" clashes with "P-1" ↔ "n-1"; "P-3" ↔ "n-1" clashes with "P-1" ↔ "n-1"') as unknown,
    })
    await expect(IdentityMaps.open({ configs: validateConfig(base({}, { 'claim-ids': { file: join(dir, 'none.csv') } })).identityMaps })).rejects.toMatchObject(
      {
        code: 'FICUS_ERR_IDENTITY_MAP_UNREADABLE',
        message: expect.stringContaining('ENOENT') as unknown,
      },
    )
  })

  it('appends imported pairs to the file map, header first when it is new', async () => {
    const file = join(dir, 'new.csv')
    const maps = await IdentityMaps.open({ configs: validateConfig(base({}, { 'claim-ids': { file } })).identityMaps, missingFilesOk: true })
    const result = await maps.store('claim-ids').add([
      { legacy: 'P,1', modern: 'n-1' },
      { legacy: 'P-2', modern: 'n-1' },
    ])
    expect(result.added).toBe(1)
    expect(result.conflicts).toHaveLength(1)
    expect(await readFile(file, 'utf8')).toBe('legacy,modern\n"P,1",n-1\n')
    expect(await readPairs(file, 'csv')).toEqual([{ legacy: 'P,1', modern: 'n-1' }])
  })
})

describe('query values', () => {
  it('replaces each value of one parameter by its own mapping and leaves the others byte for byte', () => {
    expect(replaceQueryValues('?a=%20b+c&claimNo=X&claimNo=Y&d', 'claimNo', ['n/1', 'n2'])).toBe('?a=%20b+c&claimNo=n%2F1&claimNo=n2&d')
    expect(replaceQueryValues('?claim%4Eo=X&claimNo=&claimNo', 'claimNo', ['n'])).toBe('?claim%4Eo=n&claimNo=&claimNo')
    expect(replaceQueryValues('', 'claimNo', ['n'])).toBe('')
  })
})
