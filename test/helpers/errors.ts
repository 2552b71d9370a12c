import { expect } from 'vitest'
import { FicusError } from '../../src/errors/errors.ts'

/** The code of the FicusError a promise rejects with; fails the test when it resolves or throws anything else. */
export async function ficusErrorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(FicusError)
    return (err as FicusError).code
  }
  throw new Error('expected a FicusError')
}
