import Foundation

/// The games ALE 0.12.1 supports and the reference scores of the Atari-57 benchmark.
///
/// Reference scores come from `Resources/atari57.csv` (a copy of the project's hand-checked
/// reference table, compiled in as `atari57CSV`; see `Resources/SOURCES.md`):
/// - `random` and `human`: DeepMind's DQN Zoo, `dqn_zoo/atari_data.py` (`_ATARI_DATA`):
///   no-op starts (1-30 NOOPs), episodes capped at 108,000 frames; the post-2015 57-game
///   human table, not the Nature paper's own 49-game one. Cross-checked against Dopamine,
///   the MuZero paper (Table S1), rliable and the Dueling-DQN paper.
/// - `dqn_nature`: Mnih et al. 2015, "Human-level control through deep reinforcement
///   learning", Nature 518, Extended Data Table 2; empty for the 8 games it did not run.
///
/// Game ids are ALE's ROM ids (snake_case). Lookups also accept the usual other spellings
/// (`Pong`, `MontezumaRevenge`, `montezuma-revenge`, `ALE/Pong-v5`, `PongNoFrameskip-v4`).
public enum GameCatalog {
    /// Every supported game, sorted by id (104 games).
    public static var all: [GameInfo] { table.all }

    /// The 57 games of the Atari-57 benchmark, sorted by id, each with random and human scores.
    public static var atari57: [GameInfo] { table.all.filter(\.isAtari57) }

    /// The game with this id or spelling of it, or nil. Never guesses: see `resolve` for
    /// suggestions.
    public static func info(_ id: String) -> GameInfo? {
        if let i = table.byID[id] { return table.all[i] }
        if let i = table.byKey[compactKey(id)] { return table.all[i] }
        return nil
    }

    /// `(score - random) / (human - random)` for an Atari-57 game; nil for other games.
    public static func humanNormalized(score: Double, game: String) -> Double? {
        info(game)?.humanNormalized(score)
    }

    /// Up to `limit` ids close to `name`, best first: ids that start with it, then ids within
    /// a small edit distance (insertions, deletions, substitutions and swaps of neighbours),
    /// compared without case, underscores or dashes. Empty when nothing is close.
    public static func closestIDs(to name: String, limit: Int = 3) -> [String] {
        let query = compactKey(name)
        guard !query.isEmpty, limit > 0 else { return [] }
        let q = Array(query.unicodeScalars)
        let threshold = max(2, q.count / 3)
        var scored: [(score: Int, id: String)] = []
        for (i, game) in table.all.enumerated() {
            let key = table.keys[i]
            if q.count >= 3 && key.hasPrefix(query) && key != query {
                scored.append((0, game.id))
                continue
            }
            let d = editDistance(q, Array(key.unicodeScalars), bound: threshold)
            if d <= threshold { scored.append((d, game.id)) }
        }
        scored.sort { $0.score != $1.score ? $0.score < $1.score : $0.id < $1.id }
        return scored.prefix(limit).map(\.id)
    }

    /// The game for `id` (any accepted spelling), or an error whose message names the closest
    /// ids and how to list all games.
    public static func resolve(_ id: String) throws -> GameInfo {
        let trimmed = id.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw GameCatalogError.emptyName(count: table.all.count) }
        if let game = info(trimmed) { return game }
        throw GameCatalogError.unknownGame(trimmed, suggestions: closestIDs(to: trimmed), count: table.all.count)
    }

    // MARK: - Spellings

    /// The lookup key of a name: lower case, letters and digits only, without a gymnasium
    /// `ALE/` prefix, `-vN` version suffix or `NoFrameskip` / `Deterministic` variant suffix.
    static func compactKey(_ name: String) -> String {
        var s = name.trimmingCharacters(in: .whitespaces).lowercased()
        if s.hasPrefix("ale/") { s.removeFirst(4) }
        if let dash = s.range(of: "-v", options: .backwards),
           !s[dash.upperBound...].isEmpty, s[dash.upperBound...].allSatisfy(\.isNumber) {
            s = String(s[..<dash.lowerBound])
        }
        for suffix in ["noframeskip", "deterministic"] where s.hasSuffix(suffix) && s.count > suffix.count {
            s.removeLast(suffix.count)
        }
        return String(String.UnicodeScalarView(s.unicodeScalars.filter {
            ("a"..."z").contains($0) || ("0"..."9").contains($0)
        }))
    }

    /// Optimal-string-alignment distance (Levenshtein plus swaps of neighbours), stopping
    /// early once every entry of a row exceeds `bound`.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], bound: Int = .max) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        if abs(a.count - b.count) > bound { return bound + 1 }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            var rowMin = current[0]
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                var d = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = min(d, before[j - 2] + 1)
                }
                current[j] = d
                rowMin = min(rowMin, d)
            }
            if rowMin > bound { return bound + 1 }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    // MARK: - The table

    struct Table: Sendable {
        var all: [GameInfo]
        var keys: [String]
        var byID: [String: Int]
        var byKey: [String: Int]
    }

    static let table: Table = {
        let scores: [String: ReferenceRow]
        do {
            scores = try bundledReferenceTable()
        } catch {
            // The CSV ships inside the package; failing to read it is a packaging bug.
            preconditionFailure("GameCatalog: the bundled atari57.csv could not be read: \(error)")
        }
        var all: [GameInfo] = []
        for (id, title) in ALEGames.all {
            if let row = scores[id] {
                all.append(GameInfo(id: id, title: row.title ?? title, isAtari57: true, random: row.random,
                                    human: row.human, dqnNature: row.dqnNature))
            } else {
                all.append(GameInfo(id: id, title: title, isAtari57: false))
            }
        }
        let unknown = Set(scores.keys).subtracting(all.map(\.id))
        precondition(unknown.isEmpty, "GameCatalog: atari57.csv names games ALE does not have: \(unknown.sorted())")
        all.sort { $0.id < $1.id }
        let keys = all.map { compactKey($0.id) }
        var byID: [String: Int] = [:], byKey: [String: Int] = [:]
        for (i, game) in all.enumerated() {
            byID[game.id] = i
            precondition(byKey[keys[i]] == nil, "GameCatalog: two ids share the lookup key \(keys[i])")
            byKey[keys[i]] = i
        }
        return Table(all: all, keys: keys, byID: byID, byKey: byKey)
    }()

    // MARK: - Reference tables (the one parser of atari57.csv and tables like it)

    /// One game's row of a reference-score table.
    public struct ReferenceRow: Equatable, Sendable {
        /// The `title` column; nil when the table has none or the cell is empty.
        public var title: String?
        public var random: Double
        public var human: Double
        /// The `dqn_nature` column; nil when the table has none or the cell is empty (not published).
        public var dqnNature: Double?

        public init(title: String?, random: Double, human: Double, dqnNature: Double?) {
            self.title = title; self.random = random; self.human = human; self.dqnNature = dqnNature
        }
    }

    /// Reads the compiled-in copy of `atari57.csv` (header `game,title,random,human,dqn_nature`).
    static func bundledReferenceTable() throws -> [String: ReferenceRow] {
        try parseReferenceTable(atari57CSV, path: "atari57.csv (compiled in)")
    }

    /// Reads a reference-score table from a CSV file: see `parseReferenceTable`.
    public static func loadReferenceTable(csv url: URL) throws -> [String: ReferenceRow] {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ReferenceTableError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        return try parseReferenceTable(text, path: url.path)
    }

    /// Parses a reference-score table: CSV whose header names the columns `game`, `random` and
    /// `human`, and optionally `title` and `dqn_nature`, in any order (other columns are
    /// ignored), like the bundled `Resources/atari57.csv`. Empty `title` or `dqn_nature` cells
    /// mean "none"; blank lines are skipped. Scores must be finite numbers and each game must
    /// appear once; otherwise the error names the line (`path` is only used in messages).
    public static func parseReferenceTable(_ text: String, path: String = "atari57.csv") throws -> [String: ReferenceRow] {
        func fields(_ line: Substring) -> [String] {
            line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        guard let headerIndex = lines.firstIndex(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
            throw ReferenceTableError.badHeader(path: path, header: "")
        }
        let header = fields(lines[headerIndex])
        guard let gi = header.firstIndex(of: "game"), let ri = header.firstIndex(of: "random"),
              let hi = header.firstIndex(of: "human") else {
            throw ReferenceTableError.badHeader(path: path, header: String(lines[headerIndex]))
        }
        let ti = header.firstIndex(of: "title"), di = header.firstIndex(of: "dqn_nature")
        func number(_ text: String) -> Double? { Double(text).flatMap { $0.isFinite ? $0 : nil } }
        var rows: [String: ReferenceRow] = [:]
        for n in (headerIndex + 1)..<lines.count where !lines[n].trimmingCharacters(in: .whitespaces).isEmpty {
            let f = fields(lines[n])
            let bad = ReferenceTableError.badLine(path: path, line: n + 1, text: String(lines[n]))
            func cell(_ i: Int?) -> String { i.map { $0 < f.count ? f[$0] : "" } ?? "" }
            guard f.count > max(gi, ri, hi), !f[gi].isEmpty, let random = number(f[ri]), let human = number(f[hi]) else { throw bad }
            var dqn: Double? = nil
            if !cell(di).isEmpty {
                guard let v = number(cell(di)) else { throw bad }
                dqn = v
            }
            guard rows[f[gi]] == nil else { throw ReferenceTableError.duplicateGame(path: path, game: f[gi], line: n + 1) }
            rows[f[gi]] = ReferenceRow(title: cell(ti).isEmpty ? nil : cell(ti), random: random, human: human, dqnNature: dqn)
        }
        return rows
    }
}

/// A reference-score table (atari57.csv or one given to `arena compare --reference-table`) that
/// cannot be used, with what to fix.
public enum ReferenceTableError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case unreadable(path: String, reason: String)
    case badHeader(path: String, header: String)
    case badLine(path: String, line: Int, text: String)
    case duplicateGame(path: String, game: String, line: Int)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            let clause = reason.hasSuffix(".") ? String(reason.dropLast()) : reason
            return "Could not read the reference table \(path): \(clause). Give a readable CSV file with columns game,random,human,dqn_nature."
        case let .badHeader(path, header):
            return "The reference table \(path) has the header '\(header)'; it needs columns named game, random and human (title and dqn_nature are optional)."
        case let .badLine(path, line, text):
            return "Line \(line) of the reference table \(path) is not a game id with numbers in its random, human and dqn_nature columns: '\(text)'. Fix or remove that line."
        case let .duplicateGame(path, game, line):
            return "The reference table \(path) lists \(game) a second time on line \(line); keep one row per game."
        }
    }

    public var errorDescription: String? { description }
}

/// Errors of game lookup, worded for the person at the command line.
public enum GameCatalogError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case unknownGame(String, suggestions: [String], count: Int)
    case emptyName(count: Int)

    public var description: String {
        switch self {
        case let .unknownGame(name, suggestions, count):
            var s = "Unknown game '\(name)'."
            if !suggestions.isEmpty { s += " Did you mean \(Self.orList(suggestions))?" }
            return s + " Run `arena games` to list the \(count) supported games; ids are snake_case, like montezuma_revenge."
        case let .emptyName(count):
            return "No game was given. Pass a game id such as pong; `arena games` lists all \(count)."
        }
    }

    public var errorDescription: String? { description }

    static func orList(_ items: [String]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return items[0]
        default: return items.dropLast().joined(separator: ", ") + " or " + (items.last ?? "")
        }
    }
}
