import { fail } from '../../errors/errors.ts'
import { observeSink, type EventSink } from '../../publish/event-sink.ts'
import type { ComparisonsStreamEvent } from '../../publish/shadow-skips.ts'
import { readComparisonsFromJsonl } from '../sources/jsonl-source.ts'
import { mergeSlice, type ReportStateStore } from './report-state.ts'
import { ComparisonAggregator } from '../report.ts'
import type { SliceAggregate, SliceAggregateJson } from '../slice-aggregate.ts'

/** Where the admin API finds the evidence a slice's readiness is judged on. */
export interface EvidenceSource {
  /** `local` (this instance's comparisons) or `reporter` (the reporter's aggregates in Redis). */
  readonly kind: 'local' | 'reporter'
  /** The slice's aggregates, one per rules version; undefined when there are none. */
  versions(sliceId: string): Promise<ReadonlyMap<string, SliceAggregate> | undefined>
  /** Every slice's aggregates from one reading (a check of many slices reads the evidence once). */
  reader(): Promise<(sliceId: string) => ReadonlyMap<string, SliceAggregate> | undefined>
}

/**
 * This instance's own comparisons, aggregated as they are written (and, at start, those already in
 * the JSONL files): the evidence in the embedded default, where there is no reporter.
 */
export class LocalEvidence implements EvidenceSource {
  readonly kind = 'local'
  readonly #aggregator = new ComparisonAggregator()
  #loading = false
  /** The other workers' evidence, when this process judges readiness for every worker (worker 1 of `--workers`). */
  #others: (() => Promise<unknown[]>) | undefined

  /**
   * Wraps a sink so that every comparison (or skip aggregate) written through it is also counted
   * here. Its own events are new, so their ids are not remembered — except while the files are
   * being read at start: one written then may be read from the file too, and must count once.
   */
  tee<T extends ComparisonsStreamEvent>(sink: EventSink<T>): EventSink<T> {
    return observeSink(sink, (record) => (this.#loading ? this.#aggregator.add(record) : this.#aggregator.addOwn(record)))
  }

  /** Counts the comparisons already written to a JSONL directory (a restart keeps the evidence). */
  async load(dir: string, only?: (name: string) => boolean): Promise<void> {
    this.#loading = true
    try {
      await readComparisonsFromJsonl(dir, (record) => this.#aggregator.add(record), undefined, only)
    } catch {
      // no files yet
    } finally {
      this.#loading = false
    }
  }

  /** Every slice's aggregates as JSON: what a worker sends to the one that judges readiness. */
  snapshot(): SliceAggregateJson[] {
    return [...this.#aggregator.slices.values()].flatMap((versions) => [...versions.values()].map((aggregate) => aggregate.toJSON()))
  }

  /**
   * From now on the evidence is this process's and the others' (each worker counts the comparisons
   * it writes and its own files, so the sum counts each comparison once).
   */
  mergeWith(others: () => Promise<unknown[]>): void {
    this.#others = others
  }

  async versions(sliceId: string): Promise<ReadonlyMap<string, SliceAggregate> | undefined> {
    return (await this.reader())(sliceId)
  }

  async reader(): Promise<(sliceId: string) => ReadonlyMap<string, SliceAggregate> | undefined> {
    if (!this.#others) return (sliceId) => this.#aggregator.slices.get(sliceId)
    const others = (await this.#others()).filter((answer): answer is SliceAggregateJson[] => Array.isArray(answer))
    const states = [{ slices: this.snapshot() }, ...others.map((slices) => ({ slices }))]
    return (sliceId) => mergeSlice(states, sliceId)
  }
}

/** The reporter's rolling aggregates, as it saved them (Redis), merged across partitions. */
export class ReporterEvidence implements EvidenceSource {
  readonly kind = 'reporter'
  readonly #store: ReportStateStore
  readonly #topic: string

  constructor(store: ReportStateStore, topic: string) {
    this.#store = store
    this.#topic = topic
  }

  async versions(sliceId: string): Promise<ReadonlyMap<string, SliceAggregate> | undefined> {
    return (await this.reader())(sliceId)
  }

  async reader(): Promise<(sliceId: string) => ReadonlyMap<string, SliceAggregate> | undefined> {
    let states
    try {
      states = await this.#store.all(this.#topic)
    } catch (err) {
      throw fail.evidenceUnavailable(`readiness evidence is unavailable: the reporter's aggregates cannot be read from Redis (${(err as Error).message})`, {
        cause: err,
      })
    }
    return (sliceId) => mergeSlice(states, sliceId)
  }
}
