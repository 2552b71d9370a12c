import { ERROR_CODES, type ErrorCode, fail, FicusError } from '../errors/errors.ts'

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090'
const TIMEOUT_MS = 10_000
/** Printable Latin-1, no control characters: what a header field value may hold as it is. */
const HEADER_SAFE = /^[\x20-\x7e\xa0-\xff]*$/

export interface AdminClientOptions {
  readonly baseUrl: string
  readonly token: string | undefined
  /** Sent as `x-ficus-actor`: who the audit trail names. */
  readonly actor: string
}

/** A small client of the admin API for the CLI. Error answers come back as the FicusError they carry. */
export class AdminClient {
  readonly #options: AdminClientOptions

  constructor(options: AdminClientOptions) {
    this.#options = options
  }

  async call<T>(method: 'GET' | 'PUT' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.#options.baseUrl.endsWith('/') ? this.#options.baseUrl : `${this.#options.baseUrl}/`)
    const headers: Record<string, string> = { accept: 'application/json' }
    // The actor travels in the body (JSON takes any text); the header, for GETs and older gateways, only when it is a valid field value.
    if (HEADER_SAFE.test(this.#options.actor)) headers['x-ficus-actor'] = this.#options.actor
    if (body !== null && typeof body === 'object' && !Array.isArray(body) && !('actor' in body)) body = { ...body, actor: this.#options.actor }
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: AbortSignal.timeout(TIMEOUT_MS) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
      throw fail.adminUnreachable(
        `cannot reach the admin API at ${this.#options.baseUrl} (${cause}); is the gateway running? set --admin-url or FICUS_ADMIN_URL`,
        { cause: err },
      )
    }
    const text = await response.text()
    let data: unknown
    try {
      data = text === '' ? {} : JSON.parse(text)
    } catch {
      throw fail.adminUnreachable(`${this.#options.baseUrl} answered ${response.status} with something that is not the Ficus admin API`)
    }
    if (!response.ok) throw answerError(response.status, data)
    return data as T
  }
}

function answerError(status: number, data: unknown): FicusError {
  const { code, message } = (data ?? {}) as { code?: string; message?: string }
  const known = code !== undefined && code in ERROR_CODES ? (code as ErrorCode) : 'FICUS_ERR_INTERNAL'
  return new FicusError(known, message ?? `admin API answered ${status}`, { status })
}
