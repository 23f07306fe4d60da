import Agent
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Environment
import Foundation
import Runner

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train an agent on a game; running it again on the same run folder resumes.",
        discussion: """
        The run folder is <out>/<game>/<agent>/<seed>. It holds config.json, metrics.jsonl/.csv, \
        TensorBoard event files, checkpoints/ and episodes/. SIGINT or SIGTERM finish the current \
        step, write a checkpoint and exit 0.
        """)

    @Option(help: "Game id as ALE names it (see `arena games`).")
    var game: GameArgument
    @Option(help: ArgumentHelp("The agent: random, a preset in agents/ by name (dqn-cpu-fast, dqn-nature) or a DQN JSON file.",
                               discussion: "The preset's or file's name without .json names the run folder."))
    var agent: String = "agents/dqn-cpu-fast.json"
    @Option(help: "Training budget in emulator frames (converted to agent steps with the frame skip).")
    var frames: Int?
    @Option(help: "Training budget in agent steps.")
    var steps: Int?
    @Option(help: "Seed of everything random in the run.")
    var seed: UInt64 = 1
    @OptionGroup var protocolOption: ProtocolOption
    @OptionGroup var threadsOption: ThreadsOption
    @Option(help: "Results root folder.")
    var out: String = "results"
    @Option(help: "Agent steps per training phase of an iteration.")
    var iterationSteps: Int = 50_000
    @Option(help: "Evaluation episodes after each iteration.")
    var evalEpisodes: Int = 10
    @Option(help: "Episodes of the final evaluation (evaluation.json).")
    var finalEvalEpisodes: Int = 30
    @Option(help: "Complete checkpoints to keep.")
    var keepCheckpoints: Int = 2
    @Option(help: ArgumentHelp("Also write a checkpoint within a training phase after this many minutes without one (0: only at iteration ends).",
                               discussion: "A checkpoint is always written at the end of every iteration and on SIGINT/SIGTERM; this bounds what a SIGKILL or a lost machine costs. Checkpoints change nothing the run computes."))
    var checkpointMinutes: Double = 10
    @Option(name: .customLong("protocol-set"), help: ArgumentHelp(
        "Change a preprocessing setting of the protocol, key=value (repeatable), e.g. --protocol-set fireOnLifeLoss=false.",
        discussion: "For ablations: the changed protocol is recorded and reported under its own name (\"nature2015, fireOnLifeLoss=false\"), so its results are never pooled with the protocol's. Train it into its own --out folder."))
    var protocolChanges: [String] = []
    @Option(name: .customLong("set"), help: "Override an agent setting, key=value (repeatable), e.g. --set batchSize=64.")
    var overrides: [String] = []
    @Flag(help: "Plain progress lines even on a terminal.")
    var plain = false

    func validate() throws {
        if frames != nil && steps != nil { throw ValidationError("Give the budget with --frames or --steps, not both.") }
        if let frames, frames < 1 { throw ValidationError("--frames must be positive, got \(frames).") }
        if let steps, steps < 1 { throw ValidationError("--steps must be positive, got \(steps).") }
        if !(checkpointMinutes >= 0) || !checkpointMinutes.isFinite {
            throw ValidationError("--checkpoint-minutes must be 0 (only at iteration ends) or a positive number of minutes, got \(checkpointMinutes).")
        }
        _ = try game.resolve()
        do { _ = try protocolOption.value.settings(changing: protocolChanges) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let proto = protocolOption.value
        let info = try game.resolve()
        let threads = threadsOption.threads
        let factory = try AgentCatalog.resolve(agent, agentsDirectory: URL(fileURLWithPath: "agents"), overrides: overrides)
        let changes = try PreprocessingSettings.canonicalChanges(protocolChanges, from: proto.settings.preprocessing)
        let protocolSettings = try proto.settings(changing: changes)
        let frameSkip = protocolSettings.preprocessing.frameSkip
        let budget = steps ?? (frames.map { max(1, $0 / frameSkip) } ?? 1_000_000)
        var settings = RunSettings(game: info.id, agent: factory.name, seed: seed, protocol: proto, budgetAgentSteps: budget)
        settings.protocolChanges = changes
        settings.iterationSteps = iterationSteps
        settings.evalEpisodes = evalEpisodes
        settings.finalEvalEpisodes = finalEvalEpisodes
        settings.keepCheckpoints = keepCheckpoints
        let dir = settings.runDirectory(root: URL(fileURLWithPath: out))
        let trainer = try Trainer(settings: settings, agent: factory, runDirectory: dir,
                                  compute: ComputeResources(threads: threads))
        print("arena train: \(info.id) with \(settings.agent) (\(factory.kind)), protocol \(protocolSettings.name), seed \(seed), budget \(budget) agent steps (\(budget * frameSkip) frames)")
        print("run folder: \(dir.path)")
        print("effective agent configuration:\n\(factory.configurationJSON)")
        fflush(stdout)  // before any error on stderr, also when both go to one log file
        ShutdownSignal.install()
        defer { ShutdownSignal.uninstall() }
        let reporter = ProgressReporter(isTerminal: !plain && isatty(1) != 0)
        var hooks = TrainerHooks()
        hooks.shouldStop = { ShutdownSignal.requested }
        let checkpointSeconds = checkpointMinutes * 60
        if checkpointSeconds > 0 { hooks.shouldCheckpoint = { $0 >= checkpointSeconds } }
        hooks.log = { reporter.message($0) }
        hooks.progress = { snapshot, iterationDone in
            if iterationDone { reporter.iterationFinished(snapshot) } else { reporter.update(snapshot) }
        }
        let outcome = try trainer.run(hooks: hooks)
        reporter.finish()
        switch outcome {
        case .finished:
            let evalURL = dir.appendingPathComponent("evaluation.json")
            if let data = try? Data(contentsOf: evalURL), let s = try? JSONDecoder().decode(EvaluationSummary.self, from: data),
               !s.episodes.isEmpty {
                print(String(format: "final evaluation: mean %.2f ± %.2f over %d episodes", s.mean, s.std, s.episodes.count)
                      + (s.humanNormalized.map { String(format: ", human-normalized %.3f", $0) } ?? ""))
                for o in s.besideProtocol ?? [] {
                    print(String(format: "beside the protocol (not its score): epsilon %g, mean %.2f ± %.2f over %d episodes",
                                 o.evalEpsilon, o.mean, o.std, o.episodes))
                }
                if let t = s.trainMeanReturn { print(String(format: "training episodes of the last iteration: mean return %.2f", t)) }
                if let check = s.valueCheck { print(check.sentence) }
            }
        case .stopped(let at):
            print("stopped at \(at) agent steps; checkpoint written. Run the same command to resume.")
        }
    }
}
