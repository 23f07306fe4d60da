import Foundation

/// One run folder's state, whoever started it: a sweep, `arena train` by hand or a script such as
/// scripts/learning-runs.sh. What `arena sweep status --runs` prints, one line per run.
public struct RunFolderStatus: Equatable, Sendable {
    public enum State: String, Sendable {
        /// Its final evaluation is written and its last iteration reached its budget.
        case finished
        /// A process holds its lock (`arena train` takes it for the run's whole life).
        case running
        /// Neither: interrupted (or its budget was raised). The command that started it resumes it
        /// from its newest checkpoint.
        case stopped
    }
    public var folder: String
    public var game: String
    public var agent: String
    public var seed: Int
    public var state: State
    /// The final evaluation of a finished run; progress and why it is incomplete otherwise.
    public var detail: String
}

/// The state of every run folder under a results folder, swept or not.
public enum RunsStatus {
    /// Every run folder at or below `root`, in path order. Throws when `root` is not a readable
    /// folder; a root without run folders gives an empty list.
    public static func scan(_ root: URL) throws -> [RunFolderStatus] {
        try RunFolders.find(under: [root]).map { folder in
            let run: ComparedRun
            do { run = try RunFolders.load(folder) } catch {
                // An unreadable config or evaluation file: still listed, with what is wrong.
                let parts = folder.pathComponents
                return RunFolderStatus(folder: folder.path, game: parts.count >= 3 ? parts[parts.count - 3] : "unknown",
                                       agent: parts.count >= 2 ? parts[parts.count - 2] : "unknown",
                                       seed: Int(folder.lastPathComponent) ?? 0,
                                       state: RunFolders.isLocked(folder) ? .running : .stopped, detail: "\(error)")
            }
            var status = RunFolderStatus(folder: folder.path, game: run.game, agent: run.agent, seed: run.seed,
                                         state: .stopped, detail: "")
            switch run.completion {
            case .complete:
                status.state = .finished
                status.detail = "final evaluation " + (run.finalMean.map { ProgressFormat.fixed($0, 1) } ?? "?")
                if let c = run.cost { status.detail += " after \(ProgressFormat.count(c.agentSteps)) agent steps" }
            case let .incomplete(reason):
                let locked = RunFolders.isLocked(folder)
                status.state = locked ? .running : .stopped
                status.detail = RunFolders.progress(of: folder) ?? "no metrics yet"
                if !locked { status.detail += "; incomplete: \(reason)" }
            }
            return status
        }
    }

    /// A count line, one line per run (folders relative to `root`) and, when a run is stopped, how
    /// to resume it.
    public static func text(_ runs: [RunFolderStatus], root: URL) -> String {
        let count = { (s: RunFolderStatus.State) in runs.filter { $0.state == s }.count }
        var text = "runs under \(root.path): \(runs.count) run folder(s): \(count(.finished)) finished, "
            + "\(count(.running)) running, \(count(.stopped)) stopped\n"
        let prefix = root.standardizedFileURL.path + "/"
        for r in runs {
            let shown = r.folder.hasPrefix(prefix) ? String(r.folder.dropFirst(prefix.count)) : r.folder
            text += "  \(r.game)\t\(r.agent)\tseed \(r.seed)\t\(r.state.rawValue)\t\(r.detail)\t\(shown)\n"
        }
        if count(.stopped) > 0 {
            text += "A stopped run resumes from its newest checkpoint when the command that started it runs again "
                + "(arena train with the same --game, --agent, --seed and --out; or its sweep or script).\n"
        }
        return text
    }
}
