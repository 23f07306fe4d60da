#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArenaSupport
import Foundation

/// Which phase of an iteration an episode belongs to.
public enum MetricsPhase: String, Codable, Sendable {
    case train, eval
}

/// One finished episode (a `"kind": "episode"` row).
public struct EpisodeMetrics: Equatable, Sendable {
    public var phase: MetricsPhase
    public var iteration: Int
    /// Agent steps of the run when the episode ended (evaluation does not advance them).
    public var agentSteps: Int
    public var frames: Int
    /// The episode's undiscounted, unclipped score.
    public var episodeReturn: Double
    /// Agent steps in the episode.
    public var length: Int
    /// Seconds since the run started (cumulative over resumes).
    public var wallSeconds: Double

    public init(phase: MetricsPhase, iteration: Int, agentSteps: Int, frames: Int, episodeReturn: Double,
                length: Int, wallSeconds: Double) {
        self.phase = phase
        self.iteration = iteration
        self.agentSteps = agentSteps
        self.frames = frames
        self.episodeReturn = episodeReturn
        self.length = length
        self.wallSeconds = wallSeconds
    }
}

/// One finished iteration, written after its evaluation phase (a `"kind": "iteration"` row).
/// Nil fields are written as JSON null (an empty CSV cell).
public struct IterationMetrics: Equatable, Sendable {
    public var iteration: Int
    public var agentSteps: Int
    public var frames: Int
    public var trainMeanReturn: Double?
    public var trainEpisodes: Int
    public var evalMeanReturn: Double?
    public var evalStdReturn: Double?
    public var evalEpisodes: Int
    public var evalHumanNormalized: Double?
    public var loss: Double?
    public var qMean: Double?
    public var epsilon: Double?
    public var stepsPerSecond: Double?
    public var wallSeconds: Double
    /// The agent's own diagnostics of the iteration (`ArenaAgent.iterationDiagnostics`), by
    /// name: an `"agent"` object at the end of the metrics.jsonl row (not in metrics.csv, whose
    /// columns are fixed). Empty for agents that report none.
    public var agent: [String: Double] = [:]

    public init(iteration: Int, agentSteps: Int, frames: Int, trainMeanReturn: Double?, trainEpisodes: Int,
                evalMeanReturn: Double?, evalStdReturn: Double?, evalEpisodes: Int, evalHumanNormalized: Double?,
                loss: Double?, qMean: Double?, epsilon: Double?, stepsPerSecond: Double?, wallSeconds: Double) {
        self.iteration = iteration
        self.agentSteps = agentSteps
        self.frames = frames
        self.trainMeanReturn = trainMeanReturn
        self.trainEpisodes = trainEpisodes
        self.evalMeanReturn = evalMeanReturn
        self.evalStdReturn = evalStdReturn
        self.evalEpisodes = evalEpisodes
        self.evalHumanNormalized = evalHumanNormalized
        self.loss = loss
        self.qMean = qMean
        self.epsilon = epsilon
        self.stepsPerSecond = stepsPerSecond
        self.wallSeconds = wallSeconds
    }
}

/// A row of metrics.jsonl / metrics.csv.
public enum MetricsRow: Equatable, Sendable {
    case episode(EpisodeMetrics)
    case iteration(IterationMetrics)

    public var agentSteps: Int {
        switch self {
        case .episode(let e): return e.agentSteps
        case .iteration(let i): return i.agentSteps
        }
    }

    /// The CSV columns: the union of both row kinds' keys, `kind` first.
    public static let columns = [
        "kind", "phase", "iteration", "agent_steps", "frames", "return", "length",
        "train_mean_return", "train_episodes", "eval_mean_return", "eval_std_return", "eval_episodes",
        "eval_human_normalized", "loss", "q_mean", "epsilon", "steps_per_second", "wall_seconds",
    ]

    enum Value: Equatable {
        case string(String), int(Int), double(Double?)
        /// JSON text; non-finite doubles (a diverged loss) become null, which JSON can carry.
        var json: String {
            switch self {
            case .string(let s): return "\"\(s)\""  // only fixed identifiers ("episode", "train")
            case .int(let i): return String(i)
            case .double(let d): return d.map { $0.isFinite ? "\($0)" : "null" } ?? "null"
            }
        }
        var csv: String { json == "null" ? "" : (json.hasPrefix("\"") ? String(json.dropFirst().dropLast()) : json) }
    }

    /// Keys and values in the documented order.
    var fields: [(String, Value)] {
        switch self {
        case .episode(let e):
            return [("kind", .string("episode")), ("phase", .string(e.phase.rawValue)), ("iteration", .int(e.iteration)),
                    ("agent_steps", .int(e.agentSteps)), ("frames", .int(e.frames)), ("return", .double(e.episodeReturn)),
                    ("length", .int(e.length)), ("wall_seconds", .double(e.wallSeconds))]
        case .iteration(let i):
            return [("kind", .string("iteration")), ("iteration", .int(i.iteration)), ("agent_steps", .int(i.agentSteps)),
                    ("frames", .int(i.frames)), ("train_mean_return", .double(i.trainMeanReturn)),
                    ("train_episodes", .int(i.trainEpisodes)), ("eval_mean_return", .double(i.evalMeanReturn)),
                    ("eval_std_return", .double(i.evalStdReturn)), ("eval_episodes", .int(i.evalEpisodes)),
                    ("eval_human_normalized", .double(i.evalHumanNormalized)), ("loss", .double(i.loss)),
                    ("q_mean", .double(i.qMean)), ("epsilon", .double(i.epsilon)),
                    ("steps_per_second", .double(i.stepsPerSecond)), ("wall_seconds", .double(i.wallSeconds))]
        }
    }

    /// One metrics.jsonl line, without the newline.
    public var jsonLine: String {
        var parts = fields.map { "\"\($0.0)\": \($0.1.json)" }
        if case .iteration(let i) = self, !i.agent.isEmpty {
            // Names are the agent's identifiers (letters, digits, _ / . -), written as they are.
            let values = i.agent.keys.sorted().map { "\"\($0)\": \(Value.double(i.agent[$0]).json)" }
            parts.append("\"agent\": {" + values.joined(separator: ", ") + "}")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// One metrics.csv line, without the newline, in `columns` order.
    public var csvLine: String {
        let values = Dictionary(uniqueKeysWithValues: fields.map { ($0.0, $0.1.csv) })
        return Self.columns.map { values[$0] ?? "" }.joined(separator: ",")
    }

    /// Parses one metrics.jsonl object.
    public init(jsonObject: [String: Any]) throws {
        struct Missing: Error { let key: String }
        func int(_ key: String) throws -> Int {
            guard let n = jsonObject[key] as? NSNumber, let value = Int(exactly: n.doubleValue) else { throw Missing(key: key) }
            return value
        }
        func double(_ key: String) throws -> Double {
            guard let n = jsonObject[key] as? NSNumber else { throw Missing(key: key) }
            return n.doubleValue
        }
        func optional(_ key: String) throws -> Double? {
            if jsonObject[key] == nil || jsonObject[key] is NSNull { return nil }
            return try double(key)
        }
        do {
            switch jsonObject["kind"] as? String {
            case "episode":
                guard let phase = (jsonObject["phase"] as? String).flatMap(MetricsPhase.init(rawValue:)) else {
                    throw Missing(key: "phase")
                }
                self = .episode(EpisodeMetrics(
                    phase: phase, iteration: try int("iteration"), agentSteps: try int("agent_steps"), frames: try int("frames"),
                    episodeReturn: try double("return"), length: try int("length"), wallSeconds: try double("wall_seconds")))
            case "iteration":
                var agent: [String: Double] = [:]
                if let object = jsonObject["agent"] {
                    guard let values = object as? [String: Any] else { throw Missing(key: "agent") }
                    for (name, value) in values {
                        if value is NSNull { agent[name] = .nan; continue }
                        guard let n = value as? NSNumber else { throw Missing(key: "agent") }
                        agent[name] = n.doubleValue
                    }
                }
                var row = (IterationMetrics(
                    iteration: try int("iteration"), agentSteps: try int("agent_steps"), frames: try int("frames"),
                    trainMeanReturn: try optional("train_mean_return"), trainEpisodes: try int("train_episodes"),
                    evalMeanReturn: try optional("eval_mean_return"), evalStdReturn: try optional("eval_std_return"),
                    evalEpisodes: try int("eval_episodes"), evalHumanNormalized: try optional("eval_human_normalized"),
                    loss: try optional("loss"), qMean: try optional("q_mean"), epsilon: try optional("epsilon"),
                    stepsPerSecond: try optional("steps_per_second"), wallSeconds: try double("wall_seconds")))
                row.agent = agent
                self = .iteration(row)
            default:
                throw MetricsFormatError(problem: "its \"kind\" is neither \"episode\" nor \"iteration\"")
            }
        } catch let missing as Missing {
            throw MetricsFormatError(problem: "its \"\(missing.key)\" is missing or not a number of the right kind")
        }
    }
}

/// A metrics row that does not follow the results-folder format.
public struct MetricsFormatError: Error, CustomStringConvertible {
    public var problem: String
    public var description: String { "This is not a metrics row: \(problem)." }
}

/// Appends rows to `metrics.jsonl` and `metrics.csv` in a run folder. Every row goes straight
/// to the files (no buffering in the process); iteration rows are also fsynced. Reopening an
/// existing log appends to it; a row torn by a crash is cut off; `truncate(afterAgentSteps:)`
/// drops the rows a resumed run is about to write again.
public final class MetricsLog {
    public let jsonlURL: URL
    public let csvURL: URL
    private var jsonlFD: Int32 = -1
    private var csvFD: Int32 = -1

    public init(directory: URL) throws {
        try FileSystem.makeDirectories(directory)
        jsonlURL = directory.appendingPathComponent("metrics.jsonl")
        csvURL = directory.appendingPathComponent("metrics.csv")
        try open()
    }

    deinit { close() }

    public func append(_ row: MetricsRow) throws {
        precondition(jsonlFD >= 0 && csvFD >= 0, "MetricsLog.append after close")
        try Self.write(row.jsonLine + "\n", to: jsonlFD, path: jsonlURL.path)
        try Self.write(row.csvLine + "\n", to: csvFD, path: csvURL.path)
        if case .iteration = row {
            for (fd, url) in [(jsonlFD, jsonlURL), (csvFD, csvURL)] where fsync(fd) != 0 {
                throw FileWriteError(path: url.path, reason: AtomicFile.errnoText())
            }
        }
    }

    /// Removes every row with `agent_steps` greater than `agentSteps` from both files (each
    /// rewritten atomically): call it when resuming from the checkpoint taken at `agentSteps`,
    /// so the resumed run writes no duplicate rows. Unreadable (torn) lines go too.
    public func truncate(afterAgentSteps agentSteps: Int) throws {
        close()
        let jsonl = String(decoding: (FileManager.default.contents(atPath: jsonlURL.path) ?? Data()), as: UTF8.self)
        let keptJSON = jsonl.split(separator: "\n").filter { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let row = try? MetricsRow(jsonObject: object) else { return false }
            return row.agentSteps <= agentSteps
        }
        try AtomicFile.write(Data(keptJSON.map { $0 + "\n" }.joined().utf8), to: jsonlURL)

        let csv = String(decoding: (FileManager.default.contents(atPath: csvURL.path) ?? Data()), as: UTF8.self)
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines.isEmpty ? MetricsRow.columns.joined(separator: ",") : String(lines.removeFirst())
        let column = header.split(separator: ",", omittingEmptySubsequences: false).firstIndex(of: "agent_steps")
        let keptCSV = lines.filter { line in
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard let column, cells.count == MetricsRow.columns.count, let steps = Int(cells[column]) else { return false }
            return steps <= agentSteps
        }
        try AtomicFile.write(Data(([header] + keptCSV.map(String.init)).map { $0 + "\n" }.joined().utf8), to: csvURL)
        try open()
    }

    /// Closes both files (appending afterwards is a programming error).
    public func close() {
        if jsonlFD >= 0 { Glibc.close(jsonlFD) }
        if csvFD >= 0 { Glibc.close(csvFD) }
        jsonlFD = -1
        csvFD = -1
    }

    /// Every row of a metrics.jsonl file. Throws a sentence naming the first bad line.
    public static func readRows(from url: URL) throws -> [MetricsRow] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FileReadError(path: url.path, reason: "it does not exist or cannot be read")
        }
        var rows: [MetricsRow] = []
        for (index, line) in String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated() {
            do {
                guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                    throw MetricsFormatError(problem: "it is not a JSON object")
                }
                rows.append(try MetricsRow(jsonObject: object))
            } catch let error as MetricsFormatError {
                throw FileReadError(path: url.path, reason: "line \(index + 1) is not a metrics row (\(error.problem))")
            } catch {
                throw FileReadError(path: url.path, reason: "line \(index + 1) is not valid JSON")
            }
        }
        return rows
    }

    private func open() throws {
        jsonlFD = try Self.openForAppend(jsonlURL)
        do {
            csvFD = try Self.openForAppend(csvURL)
            var st = stat()
            if fstat(csvFD, &st) == 0 && st.st_size == 0 {
                try Self.write(MetricsRow.columns.joined(separator: ",") + "\n", to: csvFD, path: csvURL.path)
            }
        } catch {
            close()
            throw error
        }
    }

    /// Opens for appending, first cutting a torn last line (no final newline) left by a crash.
    private static func openForAppend(_ url: URL) throws -> Int32 {
        let fd = Glibc.open(url.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: url.path, reason: AtomicFile.errnoText()) }
        var st = stat()
        if fstat(fd, &st) == 0 && st.st_size > 0 {
            let size = Int(st.st_size)
            var keep = size
            var byte: UInt8 = 0
            // Walk back to the last newline; a file holds at most a few MB, a torn tail a few hundred bytes.
            while keep > 0 {
                guard pread(fd, &byte, 1, off_t(keep - 1)) == 1 else { break }
                if byte == UInt8(ascii: "\n") { break }
                keep -= 1
            }
            if keep < size && ftruncate(fd, off_t(keep)) != 0 {
                let reason = AtomicFile.errnoText()
                Glibc.close(fd)
                throw FileWriteError(path: url.path, reason: reason)
            }
        }
        return fd
    }

    private static func write(_ text: String, to fd: Int32, path: String) throws {
        var text = text
        try text.withUTF8 { try AtomicFile.writeAll(fd, UnsafeRawBufferPointer($0), path: path) }
    }
}
