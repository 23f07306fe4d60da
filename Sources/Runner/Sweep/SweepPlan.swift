import Environment
import Foundation

/// One (game, seed) of a sweep: one process, one run folder.
public struct SweepTask: Equatable, Hashable, Codable, Sendable {
    public var game: String
    public var seed: Int
    /// `<results>/<game>/<agent>/<seed>`, absolute.
    public var runFolder: String

    public init(game: String, seed: Int, runFolder: String) {
        self.game = game; self.seed = seed; self.runFolder = runFolder
    }
    public var label: String { "\(game) seed \(seed)" }
}

/// The command each task runs, as argument tokens with placeholders replaced per task:
/// `{game}`, `{seed}`, `{agent}` (the agent file), `{agent_name}`, `{frames}`, `{out}` (the
/// results root) and `{run}` (the run folder). Injectable so tests can run a fake trainer.
public struct TrainCommandTemplate: Equatable, Codable, Sendable {
    public var arguments: [String]
    public init(arguments: [String]) {
        precondition(!arguments.isEmpty, "a command template needs at least the executable, got none")
        self.arguments = arguments
    }

    /// `arena train --game G --agent FILE --seed S --frames N --out RESULTS` with the given executable.
    public static func arenaTrain(executable: String) -> TrainCommandTemplate {
        TrainCommandTemplate(arguments: [executable, "train", "--game", "{game}", "--agent", "{agent}", "--seed", "{seed}",
                                         "--frames", "{frames}", "--out", "{out}"])
    }

    static let placeholders = ["game", "seed", "agent", "agent_name", "frames", "out", "run"]

    /// The argument vector for one task.
    public func render(_ task: SweepTask, plan: SweepPlan) -> [String] {
        let values = plan.values(for: task)
        return arguments.map { token in
            var t = token
            for (k, v) in values { t = t.replacingOccurrences(of: "{\(k)}", with: v) }
            return t
        }
    }

    /// One shell command line for a Slurm script: constants single-quoted, the per-task values
    /// taken from shell variables (`$GAME`, `$SEED`, `$RUN_DIR`) in double quotes.
    public func shellCommand(plan: SweepPlan) -> String {
        let variables = ["game": "GAME", "seed": "SEED", "run": "RUN_DIR"]
        let constants = ["agent": plan.agentFile, "agent_name": plan.agentName, "frames": String(plan.frames), "out": plan.resultsRoot]
        return arguments.map { token -> String in
            var word = ""
            var rest = Substring(token)
            while !rest.isEmpty {
                if let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                    let name = String(rest[rest.index(after: open)..<close])
                    if open > rest.startIndex { word += Self.singleQuoted(String(rest[..<open])) }
                    if let v = variables[name] {
                        word += "\"${\(v)}\""
                    } else if let c = constants[name] {
                        word += Self.singleQuoted(c)
                    } else {
                        word += Self.singleQuoted(String(rest[open...close]))
                    }
                    rest = rest[rest.index(after: close)...]
                } else {
                    word += Self.singleQuoted(String(rest))
                    rest = ""
                }
            }
            return word.isEmpty ? "''" : word
        }.joined(separator: " ")
    }

    /// POSIX shell single quoting: 'it'\''s'.
    public static func singleQuoted(_ s: String) -> String {
        "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

public enum SweepError: Error, CustomStringConvertible {
    case badGames(String)
    case badSeeds(Int)
    case badFrames(Int)
    case agentFileMissing(String)
    case cannotStart(command: String, reason: String)
    case commandFailed(command: String, status: Int32, stderr: String)
    case commandTimedOut(command: String, seconds: Double)
    case noSweepRecord(String)
    case unreadableRecord(path: String, reason: String)
    case waitTimedOut(seconds: Double, unfinished: Int)
    case badSchedulerOutput(command: String, output: String)

    public var description: String {
        switch self {
        case let .badGames(s): return "The game list '\(s)' is empty or malformed. Give --games atari57 or a comma-separated list such as pong,breakout."
        case let .badSeeds(n): return "--seeds must be at least 1, not \(n)."
        case let .badFrames(n): return "--frames must be a positive number of emulator frames, not \(n)."
        case let .agentFileMissing(p): return "The agent file \(p) does not exist. Give a preset such as agents/dqn-nature.json."
        case let .cannotStart(c, r): return "Could not start `\(c)`: \(r). Check that it is installed and on PATH."
        case let .commandFailed(c, s, e): return "`\(c)` failed with exit status \(s): \(e.trimmingCharacters(in: .whitespacesAndNewlines))"
        case let .commandTimedOut(c, t): return "`\(c)` did not answer within \(Int(t)) s. Is the Slurm controller reachable (try `sinfo`)?"
        case let .noSweepRecord(p): return "No sweep found under \(p). Start one with `arena sweep` or give its folder with --sweep."
        case let .unreadableRecord(p, r): return "Could not read the sweep record \(p): \(r)."
        case let .waitTimedOut(t, n): return "\(n) task(s) had not finished after \(Int(t)) s. Check again later with `arena sweep status`."
        case let .badSchedulerOutput(c, o): return "Could not understand the output of `\(c)`: \(o.prefix(200))"
        }
    }
}

/// Every (game, seed) of a sweep and how to run it.
public struct SweepPlan: Equatable, Codable, Sendable {
    public var games: [String]
    public var seeds: [Int]
    /// The agent definition file, absolute.
    public var agentFile: String
    /// The agent's name in the results tree: the file name without `.json`.
    public var agentName: String
    /// Training budget passed to each task, in emulator frames.
    public var frames: Int
    /// Results root, absolute.
    public var resultsRoot: String
    public var command: TrainCommandTemplate

    public init(games: [String], seeds: [Int], agentFile: String, frames: Int, resultsRoot: String, command: TrainCommandTemplate) {
        self.games = games
        self.seeds = seeds
        self.agentFile = URL(fileURLWithPath: agentFile).standardizedFileURL.path
        var name = URL(fileURLWithPath: agentFile).lastPathComponent
        if name.hasSuffix(".json") { name.removeLast(5) }
        self.agentName = name
        self.frames = frames
        self.resultsRoot = URL(fileURLWithPath: resultsRoot).standardizedFileURL.path
        self.command = command
    }

    /// Whether a task's run folder is complete for THIS plan: a run that finished at a smaller
    /// budget than the plan's frames is incomplete here, so the sweep runs it, and `arena train`
    /// with the larger budget extends it (frames count in agent steps at the run's own
    /// protocol's frame skip).
    public func completion(of task: SweepTask) -> RunCompletion {
        let folder = URL(fileURLWithPath: task.runFolder)
        guard FileManager.default.fileExists(atPath: folder.path) else { return .incomplete(reason: "not started") }
        let run: ComparedRun
        do { run = try RunFolders.load(folder) } catch { return .incomplete(reason: "\(error)") }
        let frameSkip = EvaluationProtocol(rawValue: run.protocolName)?.settings.preprocessing.frameSkip ?? 4
        let wanted = max(1, frames / frameSkip)
        if run.completion.isComplete, let budget = run.budgetAgentSteps, budget < wanted {
            return .incomplete(reason: "finished at its budget of \(budget) agent steps, below this sweep's \(wanted) (running the sweep extends it)")
        }
        return run.completion
    }

    /// Tasks in game-major order (all seeds of the first game first).
    public var tasks: [SweepTask] {
        games.flatMap { g in
            seeds.map { s in SweepTask(game: g, seed: s, runFolder: runFolder(game: g, seed: s)) }
        }
    }

    public func runFolder(game: String, seed: Int) -> String {
        URL(fileURLWithPath: resultsRoot).appendingPathComponent(game).appendingPathComponent(agentName)
            .appendingPathComponent(String(seed)).path
    }

    func values(for task: SweepTask) -> [(String, String)] {
        [("game", task.game), ("seed", String(task.seed)), ("agent_name", agentName), ("agent", agentFile),
         ("frames", String(frames)), ("out", resultsRoot), ("run", task.runFolder)]
    }

    /// Parses `--games`: `atari57` (the given list) or a comma-separated list of game ids.
    public static func parseGames(_ spec: String, atari57: [String]) throws -> [String] {
        let s = spec.trimmingCharacters(in: .whitespaces)
        if s == "atari57" { return atari57 }
        let games = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !games.isEmpty, games.allSatisfy({ !$0.isEmpty && $0.allSatisfy { c in c.isLetter || c.isNumber || c == "_" } }) else {
            throw SweepError.badGames(spec)
        }
        var seen = Set<String>()
        return games.filter { seen.insert($0).inserted }
    }
}
