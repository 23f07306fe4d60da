import Foundation

/// Runs are grouped by agent and protocol; groups with different protocols are never pooled.
public struct RunGroupKey: Hashable, Comparable, Sendable {
    public var agent: String
    public var protocolName: String
    public init(agent: String, protocolName: String) { self.agent = agent; self.protocolName = protocolName }
    public var label: String { "\(agent) (\(protocolName))" }
    public static func < (a: Self, b: Self) -> Bool { (a.agent, a.protocolName) < (b.agent, b.protocolName) }
}

/// One line of the per-game table of a group.
public struct GameRow: Equatable, Sendable {
    public var game: String
    /// Seeds of the runs behind this row, ascending.
    public var seeds: [Int]
    /// Final evaluation mean of each run, in `seeds` order.
    public var scores: [Double]
    /// Mean over seeds of the final evaluation means.
    public var meanScore: Double
    /// 95% Student-t interval of the mean over seeds (nil with one seed).
    public var scoreCI: Estimate?
    /// Human-normalized mean score and its interval (HNS is affine in the score, so the interval
    /// maps through unchanged); nil when the game has no reference scores.
    public var hns: Double?
    public var hnsCI: Estimate?
    public var reference: ReferenceScore?
}

/// Everything the report shows for one (agent, protocol) group.
public struct RunGroup: Sendable {
    public var key: RunGroupKey
    public var runs: [ComparedRun]
    public var rows: [GameRow]
    /// Human-normalized scores (runs x games) of the games with reference scores; nil when no game has.
    public var matrix: ScoreMatrix?
    public var aggregates: [AggregateMetric: Estimate]
    /// Aggregates of Nature DQN's published scores on the same games (one "run"), nil when a game lacks one.
    public var dqnNatureAggregates: [AggregateMetric: Double]?
    public var profile: [Estimate]
    /// Things the reader must know about this group (dropped runs, games without reference scores).
    public var notes: [String]
}

public struct CompareOptions: Sendable {
    /// Reference scores by game (random, human, Nature DQN).
    public var reference: ReferenceTable
    /// Show Nature DQN's published scores as the reference agent.
    public var showDQNNature: Bool
    public var bootstrap: StratifiedBootstrap
    /// Performance-profile thresholds; nil picks 0...max(1, ceil(best HNS)) capped at 8, 41 points.
    public var taus: [Double]?
    /// Score runs still in progress by their latest iteration's evaluation instead of leaving them
    /// out (each group then says which runs, and at how many agent steps).
    public var includeUnfinished: Bool

    public init(reference: ReferenceTable, showDQNNature: Bool = true, bootstrap: StratifiedBootstrap = StratifiedBootstrap(),
                taus: [Double]? = nil, includeUnfinished: Bool = false) {
        self.reference = reference; self.showDQNNature = showDQNNature; self.bootstrap = bootstrap; self.taus = taus
        self.includeUnfinished = includeUnfinished
    }
}

/// The whole comparison: groups, the runs left out and why, and warnings for the reader.
public struct Comparison: Sendable {
    public var groups: [RunGroup]
    public var skipped: [(folder: URL, reason: String)]
    public var taus: [Double]
    public var warnings: [String]
    public var options: CompareOptions

    /// Groups complete runs by (agent, protocol) and computes tables, aggregates and profiles.
    public init(runs allRuns: [ComparedRun], options: CompareOptions) {
        self.options = options
        var skipped: [(URL, String)] = []
        var byKey: [RunGroupKey: [ComparedRun]] = [:]
        var seen: [String: URL] = [:]
        for var r in allRuns {
            if case let .incomplete(reason) = r.completion {
                guard options.includeUnfinished, let last = r.curve.last else {
                    skipped.append((r.folder, reason))
                    continue
                }
                r.finalMean = last.evalMeanReturn
                r.interimAgentSteps = last.agentSteps
            }
            guard r.finalMean != nil else { continue }
            // The same (game, agent, protocol, seed) twice (a copied results folder) would count twice.
            let id = "\(r.game)/\(r.agent)/\(r.protocolName)/\(r.seed)"
            if let first = seen[id] {
                skipped.append((r.folder, "the same game, agent, protocol and seed as \(first.path); counted once"))
                continue
            }
            seen[id] = r.folder
            byKey[RunGroupKey(agent: r.agent, protocolName: r.protocolName), default: []].append(r)
        }
        self.skipped = skipped

        let allHNS: [Double] = byKey.values.flatMap { runs in
            runs.compactMap { r in r.finalMean.flatMap { m in options.reference[r.game]?.humanNormalized(m) } }
        }
        if let t = options.taus {
            taus = t
        } else {
            let top = min(8, max(1, (allHNS.max() ?? 1).rounded(.up)))
            taus = (0...40).map { top * Double($0) / 40 }
        }

        let taus = self.taus
        let groups = byKey.keys.sorted().map { key in
            Comparison.makeGroup(key: key, runs: byKey[key] ?? [], options: options, taus: taus)
        }
        self.groups = groups

        var warnings: [String] = []
        let protocols = Set(groups.map(\.key.protocolName))
        if protocols.count > 1 {
            warnings.append("These groups were run under different protocols (\(protocols.sorted().joined(separator: "; "))). "
                + "Their scores are not comparable: each group is shown separately and nothing is pooled across protocols.")
        }
        let gameSets = Set(groups.compactMap { $0.matrix.map { Set($0.games) } })
        if gameSets.count > 1 {
            warnings.append("The groups cover different sets of games, so their aggregates are computed over different games "
                + "and should not be compared directly.")
        }
        if options.showDQNNature, protocols.contains(where: { $0 != "nature2015" }) {
            warnings.append("Nature DQN's published scores were obtained under the nature2015 protocol; "
                + "groups run under another protocol are not directly comparable to them.")
        }
        self.warnings = warnings
    }

    static func makeGroup(key: RunGroupKey, runs: [ComparedRun], options: CompareOptions, taus: [Double]) -> RunGroup {
        var notes: [String] = []
        var byGame: [String: [ComparedRun]] = [:]
        for r in runs { byGame[r.game, default: []].append(r) }
        var rows: [GameRow] = []
        for game in byGame.keys.sorted() {
            let rs = (byGame[game] ?? []).sorted { $0.seed < $1.seed }
            let scores = rs.compactMap(\.finalMean)
            let mean = Aggregates.mean(scores)
            let ci = StudentT.meanInterval(scores).map { Estimate(point: mean, lower: $0.lower, upper: $0.upper) }
            let ref = options.reference[game]
            let hns = ref?.humanNormalized(mean)
            var hnsCI: Estimate?
            if let ref, let ci {
                let a = ref.humanNormalized(ci.lower), b = ref.humanNormalized(ci.upper)
                hnsCI = Estimate(point: ref.humanNormalized(mean), lower: min(a, b), upper: max(a, b))
            }
            rows.append(GameRow(game: game, seeds: rs.map(\.seed), scores: scores, meanScore: mean, scoreCI: ci,
                                hns: hns, hnsCI: hnsCI, reference: ref))
        }

        let withRef = rows.filter { $0.reference != nil }
        let missing = rows.filter { $0.reference == nil }.map(\.game)
        if !missing.isEmpty {
            notes.append("No reference scores for \(missing.joined(separator: ", ")); left out of the aggregates.")
        }
        var matrix: ScoreMatrix?
        if let k = withRef.map(\.scores.count).min(), k > 0 {
            let uneven = withRef.filter { $0.scores.count > k }
            if !uneven.isEmpty {
                notes.append("Games have different numbers of seeds; the aggregates use the \(k) lowest seed(s) of each game "
                    + "(rliable needs the same number of runs per game). Extra runs left out: "
                    + uneven.map { "\($0.game) seeds \($0.seeds.dropFirst(k).map(String.init).joined(separator: ","))" }.joined(separator: "; ") + ".")
            }
            let columns: [[Double]] = withRef.map { row in
                row.scores.prefix(k).map { s in row.reference.map { $0.humanNormalized(s) } ?? .nan }
            }
            matrix = ScoreMatrix(games: withRef.map(\.game), columns: columns)
        }

        var aggregates: [AggregateMetric: Estimate] = [:]
        var profile: [Estimate] = []
        var dqn: [AggregateMetric: Double]?
        if let m = matrix {
            aggregates = options.bootstrap.aggregates(m)
            profile = options.bootstrap.performanceProfile(m, taus: taus)
            let dqnScores = withRef.compactMap { row in row.reference.flatMap { r in r.dqnNature.map { r.humanNormalized($0) } } }
            if options.showDQNNature, dqnScores.count == withRef.count {
                let dm = ScoreMatrix(games: m.games, rows: [dqnScores])
                dqn = Dictionary(uniqueKeysWithValues: AggregateMetric.allCases.map { ($0, $0.evaluate(dm)) })
            }
        }
        let interim = runs.filter { $0.interimAgentSteps != nil }.sorted { ($0.game, $0.seed) < ($1.game, $1.seed) }
        if !interim.isEmpty {
            notes.append("\(interim.count) run(s) still in progress, scored by their latest iteration's evaluation (fewer "
                + "episodes than a final one): " + interim.map { "\($0.game) seed \($0.seed) at \($0.interimAgentSteps ?? 0) agent steps" }
                .joined(separator: "; ") + ".")
        }
        if matrix?.runCount == 1 {
            notes.append("One run per game: the bootstrap over runs has nothing to resample, so the aggregate intervals collapse to the point.")
        }
        return RunGroup(key: key, runs: runs, rows: rows, matrix: matrix, aggregates: aggregates,
                        dqnNatureAggregates: dqn, profile: profile, notes: notes)
    }
}

extension Comparison {
    /// Finds the run folders under `paths`, reads them and compares them. A folder that cannot be
    /// read is listed among the skipped runs with the reason; a path that does not exist throws.
    public static func load(paths: [URL], options: CompareOptions) throws -> Comparison {
        let folders = try RunFolders.find(under: paths)
        var runs: [ComparedRun] = []
        var unreadable: [(URL, String)] = []
        for f in folders {
            do { runs.append(try RunFolders.load(f)) } catch { unreadable.append((f, "\(error)")) }
        }
        var c = Comparison(runs: runs, options: options)
        c.skipped = unreadable + c.skipped
        return c
    }
}
