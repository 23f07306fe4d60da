import ArgumentParser
import Environment
import Foundation

/// `arena games`: the games ALE can run, with the Atari-57 reference scores.
struct GamesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "games",
        abstract: "List the games ALE supports, with random, human and Nature-DQN reference scores.",
        discussion: """
            Scores are for the 57 games of the Atari-57 benchmark: random and human from DeepMind's \
            DQN Zoo (no-op starts), DQN from Mnih et al. 2015 (Nature), Extended Data Table 2. \
            Human-normalized score = (score - random) / (human - random).
            """)

    @Flag(name: .long, help: "Print a JSON array instead of a table.")
    var json = false

    @Flag(name: .customLong("atari57"), help: "Only the 57 games of the Atari-57 benchmark.")
    var atari57Only = false

    func run() throws {
        let games = atari57Only ? GameCatalog.atari57 : GameCatalog.all
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(games)
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.table(games), terminator: "")
        }
    }

    /// The aligned text table: text columns left-aligned, numbers right-aligned.
    static func table(_ games: [GameInfo]) -> String {
        let header = ["id", "title", "random", "human", "DQN (Nature)", "Atari-57"]
        let rows = games.map { g in
            [g.id, g.title, format(g.random), format(g.human), format(g.dqnNature), g.isAtari57 ? "yes" : ""]
        }
        let rightAligned: Set<Int> = [2, 3, 4]
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                parts.append(rightAligned.contains(i) ? pad + cell : cell + pad)
            }
            var s = parts.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s + "\n"
        }
        var out = line(header)
        out += line(widths.map { String(repeating: "-", count: $0) })
        for row in rows { out += line(row) }
        let count57 = games.filter(\.isAtari57).count
        out += "\n\(games.count) games, \(count57) in the Atari-57. "
            + "random/human: DQN Zoo (no-op starts); DQN: Mnih et al. 2015.\n"
        return out
    }

    /// Scores with one decimal (the precision of the sources), so columns line up on the
    /// decimal point; more decimals only if a value has them; blank when there is no score.
    static func format(_ value: Double?) -> String {
        guard let v = value else { return "" }
        let oneDecimal = String(format: "%.1f", v)
        return Double(oneDecimal) == v ? oneDecimal : String(v)
    }
}
