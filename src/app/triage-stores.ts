import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'
import { createLogger } from '../observability/logger.ts'
import type { DiscrepancyRegister } from '../register/discrepancy-register.ts'
import { FileDiscrepancyRegister } from '../register/file-discrepancy-register.ts'
import { RedisDiscrepancyRegister } from '../register/redis-discrepancy-register.ts'
import { RedisTriageStore } from '../register/redis-triage-store.ts'
import { FileTriageStore, type TriageStore } from '../register/triage-store.ts'
import type { SliceTriage } from '../report/slice-triage.ts'
import { readTriage, triageUnavailable } from '../report/sources/triage-source.ts'
import { DISCREPANCIES_FILE, TRIAGE_FILE } from './data-dir.ts'

/** Where the register and its triage live: Redis (shared by every instance) with REDIS_URL, else the data directory. */
export interface TriageLocation {
  readonly redisUrl: string | undefined
  readonly redisPrefix: string
  readonly dataDir: string
  /** Who triage actions taken through these stores name as their instance. */
  readonly instance: string
  /** Files are read and never written (a report beside a running gateway); Redis stores are only read anyway. */
  readonly readOnly?: boolean
}

/** The discrepancy register and its triage store, made (not opened) for a location: the one place that chooses them. */
export function triageStores(location: TriageLocation, logger: Logger): { readonly register: DiscrepancyRegister; readonly triage: TriageStore } {
  const { redisUrl, redisPrefix: prefix, dataDir, instance, readOnly = false } = location
  if (redisUrl) return sharedTriageStores({ url: redisUrl, prefix, instance }, logger)
  return {
    register: new FileDiscrepancyRegister({ file: join(dataDir, DISCREPANCIES_FILE), logger, readOnly }),
    triage: new FileTriageStore(join(dataDir, TRIAGE_FILE), instance, logger, { readOnly }),
  }
}

/** The register and triage every instance and the reporter share through Redis, made (not opened). */
export function sharedTriageStores(
  redis: { readonly url: string; readonly prefix: string; readonly instance: string },
  logger: Logger,
): { readonly register: DiscrepancyRegister; readonly triage: TriageStore } {
  const { url, prefix, instance } = redis
  return { register: new RedisDiscrepancyRegister({ url, prefix, logger }), triage: new RedisTriageStore({ url, prefix, instance, logger }) }
}

/**
 * The triage of the stored register, for `ficus report`: the stores are opened read-only, read once
 * and closed — a live gateway's files are never cut, moved aside or written back. Logs are silenced: a store that cannot
 * be read makes every slice's triage unavailable, with the reason, in the report itself.
 */
export async function readStoredTriage(location: Omit<TriageLocation, 'instance'>, slice?: string): Promise<(slice: string) => SliceTriage> {
  if (location.redisUrl === undefined && !(await hasRegisterFiles(location.dataDir)))
    return () => ({
      available: false,
      reason: `no discrepancy register: REDIS_URL is not set and ${location.dataDir} holds neither ${DISCREPANCIES_FILE} nor ${TRIAGE_FILE}`,
    })
  const { register, triage } = triageStores({ ...location, instance: 'ficus-report', readOnly: true }, createLogger({ level: 'silent' }))
  try {
    await register.open()
    await triage.open()
    return await readTriage({ register, triage }, slice)
  } catch (err) {
    return triageUnavailable(err)
  } finally {
    await Promise.allSettled([register.close(), triage.close()])
  }
}

async function hasRegisterFiles(dataDir: string): Promise<boolean> {
  const found = await Promise.all(
    [DISCREPANCIES_FILE, TRIAGE_FILE].map((name) =>
      access(join(dataDir, name)).then(
        () => true,
        () => false,
      ),
    ),
  )
  return found.includes(true)
}
