import Foundation

/// One point of a learning curve: the evaluation mean return after an iteration, and the mean
/// return of the iteration's training episodes (exploring, epsilon as scheduled) when recorded.
public struct CurvePoint: Equatable, Codable, Sendable {
    public var agentSteps: Int
    public var frames: Int?
    public var evalMeanReturn: Double
    public var trainMeanReturn: Double?
    public init(agentSteps: Int, frames: Int?, evalMeanReturn: Double, trainMeanReturn: Double? = nil) {
        self.agentSteps = agentSteps; self.frames = frames; self.evalMeanReturn = evalMeanReturn
        self.trainMeanReturn = trainMeanReturn
    }
}

/// Whether a run folder holds a finished run (the results-folder contract: `evaluation.json`
/// exists and the final iteration row reached `config.json`'s `budget_agent_steps`).
public enum RunCompletion: Equatable, Sendable {
    case complete
    case incomplete(reason: String)

    public var isComplete: Bool { self == .complete }
}

/// What a run cost on the machine that trained it, from its iteration rows.
public struct RunCost: Equatable, Sendable {
    public var agentSteps: Int
    public var frames: Int?
    public var wallSeconds: Double
    /// Training-phase agent steps per second: steps over the time the iterations' training
    /// phases took (each iteration's steps divided by its `steps_per_second`).
    public var trainingStepsPerSecond: Double?
    /// Agent steps per wall-clock second, evaluations and checkpoints included.
    public var overallStepsPerSecond: Double? { wallSeconds > 0 ? Double(agentSteps) / wallSeconds : nil }
}

/// What compare reads from one run folder `results/<game>/<agent>/<seed>/`.
public struct ComparedRun: Equatable, Sendable {
    public var folder: URL
    public var game: String
    public var agent: String
    public var seed: Int
    public var protocolName: String
    /// Mean score of the final evaluation (`evaluation.json`'s `mean`), nil when absent.
    public var finalMean: Double?
    /// Beside the protocol's score (`evaluation.json`'s `beside_protocol` and `train_mean_return`):
    /// the final evaluation at epsilon 0.01 and the last iteration's training return, when recorded.
    public var finalMeanAtEpsilon001: Double? = nil
    public var trainMeanReturn: Double? = nil
    public var budgetAgentSteps: Int?
    /// Learning curve from `metrics.jsonl` iteration rows (or eval episode rows when those lack it).
    public var curve: [CurvePoint]
    public var completion: RunCompletion
    /// Set when compare scores an unfinished run by its latest iteration's evaluation
    /// (`--include-unfinished`): the agent steps of that iteration. Nil for a final evaluation.
    public var interimAgentSteps: Int? = nil
    /// Cost of the run up to its last iteration row (nil without one): agent steps and frames
    /// trained, wall-clock seconds (training, per-iteration evaluations and checkpoints, across
    /// resumes; the final evaluation is not included), and agent steps per second of the
    /// training phases alone.
    public var cost: RunCost? = nil

    public init(folder: URL, game: String, agent: String, seed: Int, protocolName: String, finalMean: Double?,
                budgetAgentSteps: Int?, curve: [CurvePoint], completion: RunCompletion) {
        self.folder = folder; self.game = game; self.agent = agent; self.seed = seed
        self.protocolName = protocolName; self.finalMean = finalMean; self.budgetAgentSteps = budgetAgentSteps
        self.curve = curve; self.completion = completion
    }
}

public enum RunFolderError: Error, CustomStringConvertible {
    case notFound(String)
    case unreadable(path: String, reason: String)
    case cannotCreateFolder(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notFound(p): return "\(p) does not exist. Give run folders (results/<game>/<agent>/<seed>) or folders that contain them."
        case let .unreadable(p, r): return "Could not read \(p): \(r)."
        case let .cannotCreateFolder(p, r): return "Could not create the folder \(p) (\(r)). Choose a folder you can write to."
        }
    }
}

/// Reading run folders as the results-folder contract lays them out.
public enum RunFolders {
    public static let configFile = "config.json"
    public static let evaluationFile = "evaluation.json"
    public static let metricsFile = "metrics.jsonl"

    /// Every run folder at or below `paths` (a folder holding `config.json` or `evaluation.json`),
    /// sorted by path. Does not descend into `checkpoints/` or `episodes/`.
    public static func find(under paths: [URL]) throws -> [URL] {
        let fm = FileManager.default
        var found = Set<String>()
        for root in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: root.path, isDirectory: &isDir) else { throw RunFolderError.notFound(root.path) }
            guard isDir.boolValue else { throw RunFolderError.unreadable(path: root.path, reason: "it is a file, not a folder") }
            var stack = [root.standardizedFileURL]
            while let dir = stack.popLast() {
                if isRunFolder(dir) { found.insert(dir.path); continue }
                let children = (try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: [.isDirectoryKey])) ?? []
                for c in children {
                    let name = c.lastPathComponent
                    if name.hasPrefix(".") || name == "checkpoints" || name == "episodes" { continue }
                    if (try? c.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true { stack.append(c) }
                }
            }
        }
        return found.sorted().map { URL(fileURLWithPath: $0, isDirectory: true) }
    }

    public static func isRunFolder(_ dir: URL) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: dir.appendingPathComponent(configFile).path)
            || fm.fileExists(atPath: dir.appendingPathComponent(evaluationFile).path)
    }

    /// Reads one run folder. Missing pieces are filled from the folder path
    /// (`.../<game>/<agent>/<seed>`) and reported through `completion`.
    public static func load(_ folder: URL) throws -> ComparedRun {
        let config = try readObject(folder.appendingPathComponent(configFile))
        let evaluation = try readObject(folder.appendingPathComponent(evaluationFile))
        let rows = readJSONLines(folder.appendingPathComponent(metricsFile))

        let parts = folder.standardizedFileURL.pathComponents
        let pathSeed = parts.last.flatMap { Int($0) }
        let pathAgent = parts.count >= 2 ? parts[parts.count - 2] : "unknown"
        let pathGame = parts.count >= 3 ? parts[parts.count - 3] : "unknown"

        func string(_ key: String) -> String? { (config?[key] as? String) ?? (evaluation?[key] as? String) }
        func int(_ obj: [String: Any]?, _ key: String) -> Int? {
            guard let v = obj?[key] else { return nil }
            if let i = v as? Int { return i }
            if let d = v as? Double, d.rounded() == d { return Int(d) }
            return nil
        }
        let game = string("game") ?? pathGame
        let agent = string("agent") ?? pathAgent
        let seed = int(config, "seed") ?? int(evaluation, "seed") ?? pathSeed ?? 0
        let proto = string("protocol") ?? "unknown"
        let budget = int(config, "budget_agent_steps")
        let finalMean = double(evaluation?["mean"])

        let iterations = rows.filter { ($0["kind"] as? String) == "iteration" }
        var curve: [CurvePoint] = iterations.compactMap { row in
            guard let steps = int(row, "agent_steps"), let r = double(row["eval_mean_return"]) else { return nil }
            return CurvePoint(agentSteps: steps, frames: int(row, "frames"), evalMeanReturn: r,
                              trainMeanReturn: double(row["train_mean_return"]))
        }
        if curve.isEmpty {
            // Fall back to eval episode rows averaged per iteration (training returns still from
            // the iteration rows, matched by iteration).
            var training: [Int: Double] = [:]
            for row in iterations {
                if let it = int(row, "iteration"), let r = double(row["train_mean_return"]) { training[it] = r }
            }
            var byIteration: [Int: (steps: Int, frames: Int?, sum: Double, n: Int)] = [:]
            for row in rows where (row["kind"] as? String) == "episode" && (row["phase"] as? String) == "eval" {
                guard let it = int(row, "iteration"), let r = double(row["return"]) else { continue }
                var e = byIteration[it] ?? (0, nil, 0, 0)
                e.steps = max(e.steps, int(row, "agent_steps") ?? 0)
                e.frames = int(row, "frames").map { max($0, e.frames ?? 0) } ?? e.frames
                e.sum += r; e.n += 1
                byIteration[it] = e
            }
            curve = byIteration.keys.sorted().compactMap { k in
                byIteration[k].map { CurvePoint(agentSteps: $0.steps, frames: $0.frames, evalMeanReturn: $0.sum / Double($0.n),
                                                trainMeanReturn: training[k]) }
            }
        }
        curve.sort { $0.agentSteps < $1.agentSteps }

        let lastSteps = iterations.compactMap { int($0, "agent_steps") }.max()
        let completion: RunCompletion
        if evaluation == nil {
            completion = .incomplete(reason: "no \(evaluationFile) (the run has not finished its final evaluation)")
        } else if finalMean == nil {
            completion = .incomplete(reason: "\(evaluationFile) has no numeric 'mean'")
        } else if config == nil {
            completion = .incomplete(reason: "no \(configFile), so its budget cannot be checked")
        } else if let b = budget, (lastSteps ?? 0) < b {
            completion = .incomplete(reason: "the last iteration reached \(lastSteps ?? 0) of \(b) agent steps")
        } else {
            completion = .complete
        }
        var run = ComparedRun(folder: folder, game: game, agent: agent, seed: seed, protocolName: proto, finalMean: finalMean,
                              budgetAgentSteps: budget, curve: curve, completion: completion)
        run.cost = cost(iterations: iterations)
        let beside = (evaluation?["beside_protocol"] as? [[String: Any]]) ?? []
        run.finalMeanAtEpsilon001 = beside.first { double($0["eval_epsilon"]) == 0.01 }.flatMap { double($0["mean"]) }
        run.trainMeanReturn = double(evaluation?["train_mean_return"])
        return run
    }

    /// Steps, frames and time from iteration rows (sorted by agent steps here).
    static func cost(iterations: [[String: Any]]) -> RunCost? {
        let rows = iterations.compactMap { row -> (steps: Int, frames: Int?, wall: Double?, rate: Double?)? in
            guard let steps = double(row["agent_steps"]) else { return nil }
            return (Int(steps), double(row["frames"]).map { Int($0) }, double(row["wall_seconds"]), double(row["steps_per_second"]))
        }.sorted { $0.steps < $1.steps }
        guard let last = rows.last, let wall = last.wall else { return nil }
        var trainSeconds = 0.0, previous = 0, timed = true
        for r in rows {
            guard let rate = r.rate, rate > 0 else { timed = false; break }
            trainSeconds += Double(r.steps - previous) / rate
            previous = r.steps
        }
        return RunCost(agentSteps: last.steps, frames: last.frames, wallSeconds: wall,
                       trainingStepsPerSecond: timed && trainSeconds > 0 ? Double(last.steps) / trainSeconds : nil)
    }

    /// How far an unfinished run has got, for sweep status: "338.0k/1.00M agent steps, last
    /// evaluation -12.3 at 300.0k". Nil when the folder has no metrics yet.
    public static func progress(of folder: URL) -> String? {
        let rows = readJSONLines(folder.appendingPathComponent(metricsFile))
        let steps = rows.compactMap { double($0["agent_steps"]) }.max()
        guard let steps else { return nil }
        let config = try? readObject(folder.appendingPathComponent(configFile))
        var text = ProgressFormat.count(Int(steps))
        if let budget = double(config?["budget_agent_steps"]) { text += "/" + ProgressFormat.count(Int(budget)) }
        text += " agent steps"
        let evals = rows.filter { ($0["kind"] as? String) == "iteration" }
            .compactMap { row -> (Double, Double)? in
                guard let s = double(row["agent_steps"]), let r = double(row["eval_mean_return"]) else { return nil }
                return (s, r)
            }
        if let last = evals.max(by: { $0.0 < $1.0 }) {
            text += ", last evaluation \(ProgressFormat.fixed(last.1, 1)) at \(ProgressFormat.count(Int(last.0)))"
        }
        return text
    }

    /// Completion alone (what the sweep needs to skip finished runs).
    public static func completion(of folder: URL) -> RunCompletion {
        guard FileManager.default.fileExists(atPath: folder.path) else { return .incomplete(reason: "not started") }
        do { return try load(folder).completion } catch { return .incomplete(reason: "\(error)") }
    }

    /// Whether a process holds the run folder's lock (`arena train` takes an exclusive flock on
    /// `<folder>/.lock`). Read from /proc/locks without touching the lock; false where that file
    /// does not exist (not Linux).
    public static func isLocked(_ folder: URL) -> Bool {
        let lock = folder.appendingPathComponent(".lock").path
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: lock),
              let inode = (attrs[.systemFileNumber] as? NSNumber)?.uint64Value,
              let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return false }
        // "1: FLOCK  ADVISORY  WRITE 4321 08:01:1234567 0 EOF": the 6th field is major:minor:inode.
        for line in locks.split(separator: "\n") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[1] == "FLOCK", let last = f[5].split(separator: ":").last, UInt64(last) == inode else { continue }
            return true
        }
        return false
    }

    static func double(_ v: Any?) -> Double? {
        if let d = v as? Double { return d.isFinite ? d : nil }
        if let i = v as? Int { return Double(i) }
        return nil
    }

    /// The JSON object in `url`, nil if the file does not exist; throws if it exists but is not a
    /// JSON object.
    static func readObject(_ url: URL) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let data = try Data(contentsOf: url)
            guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw RunFolderError.unreadable(path: url.path, reason: "it is not a JSON object")
            }
            return obj
        } catch let e as RunFolderError {
            throw e
        } catch {
            throw RunFolderError.unreadable(path: url.path, reason: "it is not valid JSON (\(error.localizedDescription))")
        }
    }

    /// JSON objects of a JSON-lines file; a line that does not parse (a torn last line after a
    /// crash) is skipped.
    static func readJSONLines(_ url: URL) -> [[String: Any]] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            guard let d = line.data(using: .utf8) else { return nil }
            return (try? JSONSerialization.jsonObject(with: d)) as? [String: Any]
        }
    }
}
