import { fail } from '../../errors/errors.ts'
import { observeSink, type EventSink } from '../../publish/event-sink.ts'
import type { ComparisonsStreamEvent } from '../../publish/shadow-skips.ts'
import { readComparisonsFromJsonl } from '../sources/jsonl-source.ts'
import { mergeSlice, type ReportStateStore } from './report-state.ts'
import { ComparisonAggregator } from '../report.ts'
import type { SliceAggregate } from '../slice-aggregate.ts'

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

  /**
   * Wraps a sink so that every comparison (or skip aggregate) written through it is also counted
   * here. Its own events are new, so their ids are not remembered — except while the files are
   * being read at start: one written then may be read from the file too, and must count once.
   */
  tee<T extends ComparisonsStreamEvent>(sink: EventSink<T>): EventSink<T> {
    return observeSink(sink, (record) => (this.#loading ? this.#aggregator.add(record) : this.#aggregator.addOwn(record)))
  }

  /** Counts the comparisons already written to a JSONL directory (a restart keeps the evidence). */
  async load(dir: string): Promise<void> {
    this.#loading = true
    try {
      await readComparisonsFromJsonl(dir, (record) => this.#aggregator.add(record))
    } catch {
      // no files yet
    } finally {
      this.#loading = false
    }
  }

  versions(sliceId: string): Promise<ReadonlyMap<string, SliceAggregate> | undefined> {
    return Promise.resolve(this.#aggregator.slices.get(sliceId))
  }

  reader(): Promise<(sliceId: string) => ReadonlyMap<string, SliceAggregate> | undefined> {
    return Promise.resolve((sliceId) => this.#aggregator.slices.get(sliceId))
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
