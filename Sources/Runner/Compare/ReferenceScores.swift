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
/// builds it from the games catalog.
public typealias ReferenceTable = [String: ReferenceScore]

public enum ReferenceTableError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badLine(path: String, line: Int, text: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "Could not read the reference table \(path): \(reason). Give a readable CSV file with columns game,random,human,dqn_nature."
        case let .badLine(path, line, text):
            return "Line \(line) of the reference table \(path) is not 'game,...,random,human,dqn_nature' with numbers: \(text)"
        }
    }
}

extension ReferenceScore {
    /// Reads a CSV with a header naming at least `game`, `random`, `human` (and optionally
    /// `dqn_nature`) columns, like Sources/Environment/Resources/atari57.csv. Empty cells in
    /// `dqn_nature` mean "not published".
    public static func loadTable(csv url: URL) throws -> ReferenceTable {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ReferenceTableError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try parseTable(csv: text, path: url.path)
    }

    public static func parseTable(csv text: String, path: String = "<csv>") throws -> ReferenceTable {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }),
              let gi = header.firstIndex(of: "game"), let ri = header.firstIndex(of: "random"),
              let hi = header.firstIndex(of: "human") else {
            throw ReferenceTableError.badLine(path: path, line: 1, text: lines.first ?? "")
        }
        let di = header.firstIndex(of: "dqn_nature")
        var table = ReferenceTable()
        for (n, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard f.count > max(gi, ri, hi), let r = Double(f[ri]), let h = Double(f[hi]) else {
                throw ReferenceTableError.badLine(path: path, line: n + 1, text: line)
            }
            let d = di.flatMap { $0 < f.count ? Double(f[$0]) : nil }
            table[f[gi]] = ReferenceScore(random: r, human: h, dqnNature: d)
        }
        return table
    }
}
