import Environment
import Foundation

/// Published reference scores of one game: a uniformly random policy and a human tester (the
/// normalization anchors of Mnih et al. 2015), and Nature DQN's score (same paper, Extended Data
/// Table 2).
public struct ReferenceScore: Equatable, Codable, Sendable {
    public var random: Double
    public var human: Double
    public var dqnNature: Double?

    public init(random: Double, human: Double, dqnNature: Double?) {
        self.random = random; self.human = human; self.dqnNature = dqnNature
    }

    /// Human-normalized score: `(score - random) / (human - random)`; 0 = random, 1 = human.
    public func humanNormalized(_ score: Double) -> Double { (score - random) / (human - random) }
}

/// Reference scores by game id. The comparison code takes this as an input; the command line
/// builds it from the games catalog, or from a CSV given with --reference-table.
public typealias ReferenceTable = [String: ReferenceScore]

extension ReferenceScore {
    /// The scores of one row of a reference table as the games catalog parses it.
    public init(_ row: GameCatalog.ReferenceRow) {
        self.init(random: row.random, human: row.human, dqnNature: row.dqnNature)
    }

    /// The bundled Atari-57 table, as the games catalog parsed it (Environment's atari57.csv).
    public static var atari57: ReferenceTable {
        var table = ReferenceTable()
        for game in GameCatalog.atari57 {
            guard let random = game.random, let human = game.human else { continue }
            table[game.id] = ReferenceScore(random: random, human: human, dqnNature: game.dqnNature)
        }
        return table
    }

    /// Reads a CSV like Sources/Environment/Resources/atari57.csv with the games catalog's parser
    /// (`GameCatalog.parseReferenceTable`): a header naming at least the `game`, `random` and
    /// `human` columns, optionally `dqn_nature` (an empty cell means "not published"). Throws a
    /// `ReferenceTableError` that names the file and line.
    public static func loadTable(csv url: URL) throws -> ReferenceTable {
        try GameCatalog.loadReferenceTable(csv: url).mapValues(ReferenceScore.init)
    }

    /// `loadTable` on text; `path` is only used in messages.
    public static func parseTable(csv text: String, path: String = "<csv>") throws -> ReferenceTable {
        try GameCatalog.parseReferenceTable(text, path: path).mapValues(ReferenceScore.init)
    }
}
