import ArenaSupport

/// Normalized scores of one agent, arranged as rliable arranges them: `runs x games`
/// (`scores[run][game]`). Every game has the same number of runs.
///
/// Run `n` of one game and run `n` of another game need not share a seed: rliable's stratified
/// bootstrap resamples each game's runs independently, so only each column's multiset matters.
public struct ScoreMatrix: Equatable, Sendable {
    public let games: [String]
    /// Row-major: `values[run * gameCount + game]`.
    public private(set) var values: [Double]
    public let runCount: Int
    public var gameCount: Int { games.count }

    /// `rows[run][game]`.
    public init(games: [String], rows: [[Double]]) {
        precondition(!games.isEmpty, "ScoreMatrix needs at least one game, got 0")
        precondition(!rows.isEmpty, "ScoreMatrix needs at least one run, got 0")
        for row in rows {
            precondition(row.count == games.count, "ScoreMatrix row has \(row.count) scores, expected \(games.count)")
        }
        self.games = games
        self.runCount = rows.count
        self.values = rows.flatMap { $0 }
    }

    /// `columns[game]` holds that game's run scores; all columns must have the same length.
    public init(games: [String], columns: [[Double]]) {
        precondition(columns.count == games.count, "ScoreMatrix has \(columns.count) columns, expected \(games.count)")
        let runs = columns.first?.count ?? 0
        for c in columns { precondition(c.count == runs, "ScoreMatrix column has \(c.count) runs, expected \(runs)") }
        self.init(games: games, rows: (0..<runs).map { r in columns.map { $0[r] } })
    }

    public subscript(run: Int, game: Int) -> Double {
        get { values[run * gameCount + game] }
        set { values[run * gameCount + game] = newValue }
    }

    public func column(_ game: Int) -> [Double] { (0..<runCount).map { self[$0, game] } }

    /// Per-game means over runs (the "sample mean per task" of rliable).
    public var gameMeans: [Double] {
        (0..<gameCount).map { g in
            var s = 0.0
            for r in 0..<runCount { s += self[r, g] }
            return s / Double(runCount)
        }
    }
}

/// The aggregate metrics of Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
/// Statistical Precipice", exactly as the `rliable` package (`rliable.metrics`) computes them.
public enum AggregateMetric: String, CaseIterable, Codable, Sendable {
    /// Median over games of the per-game mean over runs (`aggregate_median`).
    case median
    /// Mean over games of the per-game mean over runs (`aggregate_mean`).
    case mean
    /// Interquartile mean: 25%-trimmed mean of all runs x games scores pooled
    /// (`aggregate_iqm` = `scipy.stats.trim_mean(scores, 0.25, axis=None)`).
    case iqm
    /// Optimality gap with gamma 1: `1 - mean(min(x, 1))` over all runs x games
    /// (`aggregate_optimality_gap`). Lower is better.
    case optimalityGap = "optimality_gap"

    public var title: String {
        switch self {
        case .median: return "Median"
        case .mean: return "Mean"
        case .iqm: return "IQM"
        case .optimalityGap: return "Optimality gap"
        }
    }

    public func evaluate(_ m: ScoreMatrix) -> Double {
        switch self {
        case .median: return Aggregates.median(m.gameMeans)
        case .mean: return Aggregates.mean(m.gameMeans)
        case .iqm: return Aggregates.trimmedMean(m.values, proportionToCut: 0.25)
        case .optimalityGap: return Aggregates.optimalityGap(m.values, gamma: 1)
        }
    }
}

/// The plain statistics behind the aggregates, each matching its NumPy/SciPy counterpart.
public enum Aggregates {
    public static func mean(_ x: [Double]) -> Double {
        precondition(!x.isEmpty, "mean of an empty list")
        return x.reduce(0, +) / Double(x.count)
    }

    /// `numpy.median`: the middle value, or the mean of the two middle values.
    public static func median(_ x: [Double]) -> Double {
        precondition(!x.isEmpty, "median of an empty list")
        let s = x.sorted()
        let n = s.count
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
    }

    /// `scipy.stats.trim_mean(x, p)`: drops `floor(p * n)` values from each end of the sorted data
    /// and averages the rest.
    public static func trimmedMean(_ x: [Double], proportionToCut p: Double) -> Double {
        precondition(!x.isEmpty, "trimmed mean of an empty list")
        precondition(p >= 0 && p < 0.5, "proportion to cut must be in [0, 0.5), got \(p)")
        let s = x.sorted()
        let cut = Int((p * Double(s.count)).rounded(.down))
        let kept = s[cut..<(s.count - cut)]
        return kept.reduce(0, +) / Double(kept.count)
    }

    /// rliable's `gamma - mean(minimum(x, gamma))`, which equals `mean(max(gamma - x, 0))`.
    public static func optimalityGap(_ x: [Double], gamma: Double) -> Double {
        precondition(!x.isEmpty, "optimality gap of an empty list")
        var s = 0.0
        for v in x { s += Swift.min(v, gamma) }
        return gamma - s / Double(x.count)
    }

    /// Fraction of scores strictly above `tau` (rliable's `run_score_deviation`).
    public static func fractionAbove(_ x: [Double], tau: Double) -> Double {
        precondition(!x.isEmpty, "fraction of an empty list")
        var c = 0
        for v in x where v > tau { c += 1 }
        return Double(c) / Double(x.count)
    }

    /// `numpy.percentile(x, q)` with its default linear interpolation (q in 0...100).
    public static func percentile(sorted s: [Double], _ q: Double) -> Double {
        precondition(!s.isEmpty, "percentile of an empty list")
        precondition(q >= 0 && q <= 100, "percentile must be in 0...100, got \(q)")
        let h = (q / 100) * Double(s.count - 1)
        let lo = Int(h.rounded(.down))
        let hi = Swift.min(lo + 1, s.count - 1)
        let frac = h - Double(lo)
        return s[lo] + (s[hi] - s[lo]) * frac
    }
}

/// A point estimate with a confidence interval.
public struct Estimate: Equatable, Codable, Sendable {
    public var point: Double
    public var lower: Double
    public var upper: Double
    public init(point: Double, lower: Double, upper: Double) {
        self.point = point; self.lower = lower; self.upper = upper
    }
}

/// rliable's `StratifiedBootstrap` (runs resampled with replacement independently for each game,
/// games kept) with percentile confidence intervals, driven by our seeded generator.
public struct StratifiedBootstrap: Sendable {
    /// Bootstrap replications. 2000 is rliable's default for performance profiles.
    public var reps: Int
    /// Two-sided coverage, 0.95 in rliable.
    public var confidence: Double
    public var seed: UInt64

    public init(reps: Int = 2000, confidence: Double = 0.95, seed: UInt64 = 0) {
        precondition(reps >= 1, "bootstrap needs at least one replication, got \(reps)")
        precondition(confidence > 0 && confidence < 1, "confidence must be in (0, 1), got \(confidence)")
        self.reps = reps; self.confidence = confidence; self.seed = seed
    }

    /// Calls `statistic` on `reps` resampled matrices. Each statistic returns a vector of the same
    /// length (several metrics at once share the resamples, as in rliable's `func` returning an array).
    /// Returns `point` (the statistic on the data) with percentile intervals.
    public func estimate(_ m: ScoreMatrix, statistic: (ScoreMatrix) -> [Double]) -> [Estimate] {
        let point = statistic(m)
        var draws = [[Double]](repeating: [], count: point.count)
        for k in draws.indices { draws[k].reserveCapacity(reps) }
        var rng = SeededGenerator(seed: seed, stream: "stratified-bootstrap")
        var sample = m
        for _ in 0..<reps {
            for g in 0..<m.gameCount {
                for r in 0..<m.runCount {
                    let pick = Int.random(in: 0..<m.runCount, using: &rng)
                    sample[r, g] = m[pick, g]
                }
            }
            let v = statistic(sample)
            precondition(v.count == point.count, "bootstrap statistic returned \(v.count) values, expected \(point.count)")
            for k in v.indices { draws[k].append(v[k]) }
        }
        let alpha = (1 - confidence) / 2
        return point.indices.map { k in
            let s = draws[k].sorted()
            return Estimate(point: point[k],
                            lower: Aggregates.percentile(sorted: s, 100 * alpha),
                            upper: Aggregates.percentile(sorted: s, 100 * (1 - alpha)))
        }
    }

    /// The four rliable aggregates with their CIs, from one shared set of resamples.
    public func aggregates(_ m: ScoreMatrix, metrics: [AggregateMetric] = AggregateMetric.allCases) -> [AggregateMetric: Estimate] {
        let e = estimate(m) { s in metrics.map { $0.evaluate(s) } }
        return Dictionary(uniqueKeysWithValues: zip(metrics, e))
    }

    /// Performance profile (rliable's score distribution): for each tau, the fraction of all
    /// runs x games scores strictly above tau, with CIs.
    public func performanceProfile(_ m: ScoreMatrix, taus: [Double]) -> [Estimate] {
        estimate(m) { s in taus.map { Aggregates.fractionAbove(s.values, tau: $0) } }
    }
}
