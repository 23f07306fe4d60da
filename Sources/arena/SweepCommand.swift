import ArgumentParser
import Environment
import Foundation
import Runner

/// `arena sweep`: train one agent on many (game, seed) pairs, each as its own `arena train` process,
/// on this machine or as Slurm job arrays. `arena sweep status` reports a Slurm sweep's tasks.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train an agent on many games and seeds, locally or on a Slurm cluster.",
        discussion: """
        Every (game, seed) runs `arena train --game G --agent FILE --seed S --frames N --out DIR` in its own \
        process and run folder DIR/<game>/<agent>/<seed>. Sweeps are resumable: finished runs are skipped, \
        interrupted ones run again and resume from their last checkpoint. With --backend slurm, a job-array \
        script (one task per game and seed) is written under DIR/sweeps/ and submitted with sbatch; follow it \
        with `arena sweep status` (which also reports local sweeps, from their run folders). \
        `arena sweep --games ...` is short for `arena sweep run --games ...`.
        """,
        subcommands: [Run.self, Status.self],
        defaultSubcommand: Run.self)

    /// `arena sweep [run]`: start (or resume) a sweep.
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Start or resume a sweep (the default subcommand).")

        @Option(help: "atari57, or a comma-separated list of game ids (e.g. pong,breakout).")
        var games: String

        @Option(help: "Number of seeds per game (seeds 1...N).")
        var seeds: Int = 3

        @Option(help: "Agent definition file (e.g. agents/dqn-nature.json).")
        var agent: String

        @Option(help: "Training budget of each run, in emulator frames.")
        var frames: Int

        @Option(help: "local (processes on this machine) or slurm (job arrays submitted with sbatch).")
        var backend: String = "local"

        @Option(help: "local: processes at once (default: 1). slurm: array tasks running at once (--array=...%N; default: no limit).")
        var jobs: Int?

        @Option(help: "Results folder.")
        var out: String = "results"

        @Option(help: "local: stop a task after this many seconds (default: no limit).")
        var taskTimeout: Double?

        @Option(help: "slurm: partition (default: the cluster's default).")
        var partition: String?

        @Option(help: "slurm: wall-time limit per task, HH:MM:SS.")
        var time: String?

        @Option(help: "slurm: CPUs per task.")
        var cpusPerTask: Int?

        @Option(help: "slurm: memory per task as sbatch reads it (e.g. 8G).")
        var mem: String?

        @Option(help: ArgumentHelp(
            "The command each task runs, words separated by spaces, with {game} {seed} {agent} {agent_name} {frames} {out} {run} replaced per task.",
            discussion: "Default: this arena's own `train` command. Use it to wrap arena in a container or to run another trainer."))
        var trainCommand: String?

        @Flag(help: "slurm: wait until every task has finished (see --wait-timeout).")
        var wait = false

        @Option(help: "slurm: seconds --wait waits at most.")
        var waitTimeout: Double = 86_400

        func trainTemplate() -> TrainCommandTemplate {
            guard let t = trainCommand else { return .arenaTrain(executable: SweepCommand.currentExecutable()) }
            return TrainCommandTemplate(arguments: t.split(separator: " ").map(String.init))
        }

        func validate() throws {
            if let t = trainCommand, t.split(separator: " ").isEmpty {
                throw ValidationError("--train-command is empty; give the command each task runs, e.g. '/opt/arena train --game {game} ...'.")
            }
            if !["local", "slurm"].contains(backend) { throw ValidationError("--backend must be local or slurm, not '\(backend)'.") }
            if seeds < 1 { throw ValidationError("--seeds must be at least 1, not \(seeds).") }
            if frames < 1 { throw ValidationError("--frames must be a positive number of emulator frames, not \(frames).") }
            if let j = jobs, j < 1 { throw ValidationError("--jobs must be at least 1, not \(j).") }
            if let t = taskTimeout, t <= 0 { throw ValidationError("--task-timeout must be a positive number of seconds, not \(t).") }
            if let c = cpusPerTask, c < 1 { throw ValidationError("--cpus-per-task must be at least 1, not \(c).") }
            if let t = time, !t.allSatisfy({ $0.isNumber || $0 == ":" || $0 == "-" }) {
                throw ValidationError("--time must look like HH:MM:SS (or D-HH:MM:SS), not '\(t)'.")
            }
            if backend == "local" && (partition != nil || time != nil || cpusPerTask != nil || mem != nil || wait) {
                throw ValidationError("--partition, --time, --cpus-per-task, --mem and --wait apply to --backend slurm only.")
            }
            if !FileManager.default.fileExists(atPath: agent) {
                throw ValidationError("The agent file \(agent) does not exist. Give a preset such as agents/dqn-nature.json.")
            }
            let list: [String]
            do { list = try SweepPlan.parseGames(games, atari57: SweepCommand.atari57) } catch { throw ValidationError("\(error)") }
            // Every task would fail on an unknown id: say so now, with the catalog's suggestions.
            for g in list {
                do { _ = try GameCatalog.resolve(g) } catch { throw ValidationError("\(error)") }
            }
        }

        func run() throws {
            let plan = SweepPlan(games: try SweepPlan.parseGames(games, atari57: SweepCommand.atari57), seeds: Array(1...seeds),
                                 agentFile: agent, frames: frames, resultsRoot: out,
                                 command: trainTemplate())
            print("sweep: \(plan.games.count) game(s) x \(plan.seeds.count) seed(s) = \(plan.tasks.count) run(s) of \(plan.agentName), "
                + "\(frames) frames each, results in \(plan.resultsRoot)")
            if backend == "local" {
                // A record so that `arena sweep status` can report on this sweep from another terminal.
                let record = SweepRecord(backend: "local", plan: plan, resources: SlurmResources(), arrays: [],
                                              submittedAt: SlurmSweep.timestamp(),
                                              folder: SlurmSweep.newSweepFolder(plan: plan))
                try SlurmSweep.save(record)
                let summary = LocalSweep(plan: plan, jobs: jobs ?? 1, taskTimeout: taskTimeout, handlesSignals: true).run()
                print(summary.text, terminator: "")
                if !summary.failures.isEmpty { throw ExitCode(1) }
                return
            }
            let resources = SlurmResources(partition: partition, time: time, cpusPerTask: cpusPerTask, mem: mem, throttle: jobs)
            let sweep = SlurmSweep(plan: plan, resources: resources)
            let record = try sweep.submit()
            if record.arrays.isEmpty {
                print("sweep: every run is already complete; nothing submitted")
                return
            }
            for a in record.arrays {
                print("sweep: submitted job array \(a.jobID ?? "?") (\(a.tasks.count) task(s)): \(a.scriptPath)")
            }
            print("sweep: follow it with: arena sweep status --sweep \(record.folder)")
            if wait {
                let s = try sweep.wait(record, timeout: waitTimeout, poll: 10)
                print(SlurmSweep.statusText(s), terminator: "")
                if s.contains(where: { $0.state == .failed }) { throw ExitCode(1) }
            }
        }
    }

    /// This very executable, so each task runs the same arena build.
    static func currentExecutable() -> String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        let arg0 = CommandLine.arguments.first ?? "arena"
        return arg0.contains("/") ? URL(fileURLWithPath: arg0).standardizedFileURL.path : arg0
    }

    /// The 57 games of the Atari benchmark, from the games catalog.
    static var atari57: [String] { GameCatalog.atari57.map(\.id) }

    /// `arena sweep status`: each task's state from its run folder, squeue and scontrol.
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show the state of each task of the latest sweep (run folders; squeue and scontrol for Slurm).",
            discussion: """
            With --runs, or when --out holds no sweep, it lists every run folder under --out instead, \
            however it was started (arena train, a sweep, scripts/learning-runs.sh): finished, running \
            (a trainer holds it) or stopped, with its progress.
            """)

        @Option(help: "Results folder whose latest sweep to show.")
        var out: String = "results"

        @Option(help: "A sweep folder (results/sweeps/<id>) instead of the latest one.")
        var sweep: String?

        @Flag(help: "List every run folder under --out (finished, running, stopped), not a sweep's tasks.")
        var runs = false

        @Flag(help: "Slurm sweeps: wait until every task has finished (see --timeout).")
        var wait = false

        @Option(help: "Seconds --wait waits at most.")
        var timeout: Double = 3600

        func validate() throws {
            if runs && (sweep != nil || wait) { throw ValidationError("--runs lists run folders; it takes neither --sweep nor --wait.") }
        }

        func run() throws {
            let root = URL(fileURLWithPath: out).standardizedFileURL
            if runs { return try listRuns(root, noSweep: false) }
            let folder: String
            if let sweep { folder = sweep } else {
                do { folder = try SlurmSweep.latestSweepFolder(resultsRoot: root.path) } catch SweepError.noSweepRecord where !wait {
                    return try listRuns(root, noSweep: true)
                }
            }
            let record = try SlurmSweep.load(sweepFolder: folder)
            let states: [SweepTaskStatus]
            if record.isLocal {
                states = LocalSweep.status(record.plan)
            } else {
                let s = SlurmSweep(plan: record.plan, resources: record.resources)
                states = wait ? try s.wait(record, timeout: timeout, poll: 10) : try s.status(record)
            }
            print("sweep \(record.folder) (submitted \(record.submittedAt))")
            print(SlurmSweep.statusText(states), terminator: "")
            if wait && states.contains(where: { $0.state == .failed }) { throw ExitCode(1) }
        }

        /// The run folders under `root`; with `noSweep`, as the answer to a status request that
        /// found no sweep there (an error when there are no run folders either).
        func listRuns(_ root: URL, noSweep: Bool) throws {
            let found = try RunsStatus.scan(root)
            if found.isEmpty {
                throw RunError(noSweep
                    ? "No sweep and no run folder under \(root.path). Give the results folder of your runs with --out."
                    : "No run folder under \(root.path). Give the results folder of your runs with --out.")
            }
            if noSweep { print("no sweep under \(root.path); its run folders:") }
            print(RunsStatus.text(found, root: root), terminator: "")
        }
    }
}
