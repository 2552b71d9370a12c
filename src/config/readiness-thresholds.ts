// What readiness means for a slice, as the routes config sets it: the report judges with these.

/** Thresholds a slice must meet before its authority may move to modern (rates in percent). */
export interface ReadinessThresholds {
  /** Compared samples (agree + disagree) in the window. */
  readonly minSamples: number
  /** Lower bound of the 95 % confidence interval of agreement, in percent. */
  readonly minMatchRatePercent: number
  /** Genuine conflicts per compared sample, percent; 0 means none. */
  readonly maxConflictRatePercent: number
  /** Translation defects per compared sample, percent. */
  readonly maxTranslationDefectRatePercent: number
  /** Source-data defects per compared sample, percent. */
  readonly maxSourceDataDefectRatePercent: number
  /** Answered pairs whose bodies could not be compared, percent. */
  readonly maxNotComparedRatePercent: number
  /** Shadow errors per shadow call, percent. */
  readonly maxShadowErrorRatePercent: number
  /** Timing lags per compared sample, percent. */
  readonly maxLagRatePercent: number
  /** 95th percentile of the measured lags, milliseconds. */
  readonly maxLagP95Ms: number
  /** Modern's latency at this percentile may be at most `maxLatencyRatio` × legacy's; null: not checked. */
  readonly latencyPercentile: 50 | 95 | 99
  readonly maxLatencyRatio: number | null
  /** Time between the first and the last sample in the window, in hours. */
  readonly minSoakHours: number
  /** Only the evidence of the last `windowDays`, under the slice's current rules, counts. */
  readonly windowDays: number
  /**
   * Days a genuine conflict of the judged evidence may stay open (untriaged, open, investigating, or
   * accepted past its expiry) since the register first saw it. Regressions always block.
   */
  readonly maxOpenConflictAgeDays: number
}

/** What a cautious team starts with: no conflict or translation defect, little else. */
export const DEFAULT_READINESS: ReadinessThresholds = {
  minSamples: 500,
  minMatchRatePercent: 99,
  maxConflictRatePercent: 0,
  maxTranslationDefectRatePercent: 0,
  maxSourceDataDefectRatePercent: 1,
  maxNotComparedRatePercent: 5,
  maxShadowErrorRatePercent: 1,
  maxLagRatePercent: 5,
  maxLagP95Ms: 1_000,
  latencyPercentile: 95,
  maxLatencyRatio: 1.25,
  minSoakHours: 24,
  windowDays: 7,
  maxOpenConflictAgeDays: 7,
}
