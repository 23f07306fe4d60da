import Agent
import ArenaSupport
import Environment
import Foundation
import NeuralNet

/// The trainer's own state: everything besides the agent and the environment that a resumed run
/// needs to continue exactly where the checkpoint was taken.
struct TrainerState: Codable {
    var agentSteps = 0
    /// The iteration being trained (0-based) and the agent steps done in its training phase.
    var iteration = 0
    var stepsInIteration = 0
    /// The action the agent chose for the next step (the agent already saw the current frame).
    var pendingAction = 0
    /// Training episodes finished in the current iteration, with their returns.
    var iterationReturns: [Double] = []
    /// Returns of the last training episodes (for the progress line).
    var recentReturns: [Double] = []
    var episodeLength = 0
    var wallSeconds = 0.0
    var trainingFrames = 0
    var environment: AtariEnvironment.State?
}

/// Hooks the caller uses to watch or stop training (the CLI prints progress and maps signals).
public struct TrainerHooks {
    /// Polled after every agent step; when true the trainer checkpoints and returns.
    public var shouldStop: () -> Bool = { false }
    /// Called about every `progressInterval` agent steps (`false`) and at every iteration's end (`true`).
    public var progress: (ProgressSnapshot, _ iterationFinished: Bool) -> Void = { _, _ in }
    /// Messages for the user (resume notices, warnings about damaged checkpoints).
    public var log: (String) -> Void = { _ in }
    public var progressInterval = 1_000
    public init() {}
}

public enum TrainingOutcome: Equatable, Sendable {
    /// The budget is reached and evaluation.json is written.
    case finished
    /// Stopped on request after writing a checkpoint; running again resumes.
    case stopped(agentSteps: Int)
}

/// Trains one agent on one game: iterations of a training phase and an evaluation phase, a
/// checkpoint after each (and on a stop request), metrics, TensorBoard events and evaluation
/// episode files in the run folder. Running it again on the same folder resumes.
public final class Trainer {
    public let settings: RunSettings
    public let agentConfig: DQNConfig
    public let runDirectory: URL
    public let romDirectory: URL?
    let protocolSettings: ProtocolSettings
    /// Updates in one piece (1) or as two half-batches side by side (2): two when OpenBLAS has
    /// two or more threads, unless the run folder recorded another choice when the run started.
    private(set) var lanes: Int = BLAS.threads >= 2 ? 2 : 1
    /// Set when the lane count came from the run folder rather than from this machine's threads.
    private var lanesFromRecord = false

    public init(settings: RunSettings, agentConfig: DQNConfig, runDirectory: URL, romDirectory: URL? = nil) throws {
        try settings.validate()
        var config = agentConfig
        // The protocol fixes the evaluation policy; the effective value is recorded in config.json.
        config.evalEpsilon = settings.protocol.settings.evalEpsilon
        try config.validate()
        self.settings = settings
        self.agentConfig = config
        self.runDirectory = runDirectory
        self.romDirectory = romDirectory
        protocolSettings = settings.protocol.settings
    }

    var record: RunRecord {
        RunRecord(game: settings.game, agent: settings.agent, seed: settings.seed, protocol: settings.protocol.rawValue,
                  arenaVersion: ArenaVersion.string, aleVersion: ArcadeEnvironment.aleVersion,
                  budgetAgentSteps: settings.budgetAgentSteps, run: settings, agentConfig: agentConfig,
                  protocolSettings: protocolSettings, learnerLanes: lanes)
    }

    /// Creates the run folder and takes its lock, so no other process trains into it meanwhile.
    func lockFolder() throws -> RunFolderLock {
        do {
            try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        } catch {
            throw RunError("Cannot create the run folder \(runDirectory.path): \(error.localizedDescription). Choose a folder you can write to with --out.")
        }
        return try RunFolderLock(directory: runDirectory)
    }

    /// Writes config.json, or checks that the folder holds the same run (a larger budget is
    /// allowed: it extends the run).
    func prepareFolder() throws {
        let fm = FileManager.default
        let configURL = runDirectory.appendingPathComponent("config.json")
        if fm.fileExists(atPath: configURL.path) {
            let data = try Data(contentsOf: configURL)
            let existing: RunRecord
            do { existing = try JSONDecoder().decode(RunRecord.self, from: data) } catch {
                throw RunError("\(configURL.path) is not a config.json this version can read (\(error)); move the folder away or pick another --out.")
            }
            var mine = record, theirs = existing
            mine.budgetAgentSteps = 0; theirs.budgetAgentSteps = 0
            mine.run.budgetAgentSteps = 0; theirs.run.budgetAgentSteps = 0
            mine.arenaVersion = ""; theirs.arenaVersion = ""
            mine.learnerLanes = nil; theirs.learnerLanes = nil
            guard mine == theirs else {
                throw RunError("The run folder \(runDirectory.path) holds a run with a different configuration (game, agent settings, protocol or seed); resume it with the same settings, or train into another folder with --out.")
            }
            if let recorded = existing.learnerLanes, recorded == 1 || recorded == 2 {
                lanesFromRecord = recorded != lanes
                lanes = recorded
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(record), to: configURL)
    }

    /// Runs until the budget is spent or `hooks.shouldStop()`; resumes from the newest complete
    /// checkpoint when the folder has one.
    @discardableResult
    public func run(hooks: TrainerHooks = TrainerHooks()) throws -> TrainingOutcome {
        let lock = try lockFolder()
        defer { lock.release() }
        try prepareFolder()
        let env = try AtariEnvironment(game: settings.game, emulator: protocolSettings.emulator,
                                       preprocessing: protocolSettings.preprocessing, seed: settings.seed,
                                       romDirectory: romDirectory)
        // With two or more BLAS threads, each update runs as two half-batches side by side, one per
        // core (`lanes`, fixed for the run's life by config.json). OpenBLAS itself runs
        // single-threaded for the whole run: its idle pool threads spin (sched_yield) after every
        // threaded call and would take a core from the lanes; acting, a few hundred microseconds
        // per step, does not need them; and a one-lane run started on one thread stays bit-exact
        // when resumed on a machine with more.
        BLAS.setThreads(1)
        let why = lanesFromRecord ? " as when this run started (kept on resume so the run stays bit-exact)" : ""
        hooks.log(lanes == 2 ? "Updates: two half-batches side by side (2 lanes, OpenBLAS single-threaded)\(why)."
                             : "Updates: one piece (1 lane, OpenBLAS with 1 thread)\(why).")
        let agent = try DQNAgent(config: agentConfig, actionCount: env.actionCount, seed: settings.seed, name: settings.agent,
                                 learnerLanes: lanes)
        let store = CheckpointStore(directory: runDirectory.appendingPathComponent("checkpoints"), keep: settings.keepCheckpoints)
        let metrics = try MetricsLog(directory: runDirectory)
        defer { metrics.close() }

        var state = TrainerState()
        var resumedAt: Int? = nil
        if let latest = try store.latestValid() {
            for w in latest.warnings { hooks.log(w) }
            state = try restore(from: latest.url, agent: agent, env: env)
            resumedAt = state.agentSteps
            hooks.log("Resuming \(runDirectory.path) from checkpoint at \(state.agentSteps) agent steps.")
            try metrics.truncate(afterAgentSteps: state.agentSteps)
        } else {
            // Starting from zero: rows and events of an earlier attempt that never checkpointed go.
            try metrics.truncate(afterAgentSteps: 0)
            let names = (try? FileManager.default.contentsOfDirectory(atPath: runDirectory.path)) ?? []
            for name in names where name.hasPrefix("events.out.tfevents.") {
                try? FileManager.default.removeItem(at: runDirectory.appendingPathComponent(name))
            }
            try env.reset()
            state.trainingFrames = env.episodeFrames
            state.pendingAction = env.withFrame { agent.beginEpisode(frame: $0, training: true) }
        }
        let tb = try TensorBoardWriter(directory: runDirectory, resumingAfter: resumedAt)
        defer { tb.close() }

        let clock = Stopwatch()
        let wallAtStart = state.wallSeconds
        var lastProgressStep = state.agentSteps
        let terminalOnLifeLoss = protocolSettings.preprocessing.terminalOnLifeLoss

        func wall() -> Double { wallAtStart + clock.seconds }
        func snapshot(_ phase: MetricsPhase) -> ProgressSnapshot {
            let stats = agent.statistics
            return ProgressSnapshot(iteration: state.iteration, phase: phase, agentSteps: state.agentSteps,
                                    budgetAgentSteps: settings.budgetAgentSteps, frames: state.trainingFrames,
                                    recentMeanReturn: state.recentReturns.isEmpty ? nil : state.recentReturns.reduce(0, +) / Double(state.recentReturns.count),
                                    epsilon: stats.epsilon, loss: stats.lastLoss,
                                    replayFill: stats.replayTransitions, replayCapacity: stats.replayCapacity)
        }

        while state.agentSteps < settings.budgetAgentSteps {
            // Training phase.
            let phaseStart = (steps: state.agentSteps, time: clock.seconds)
            while state.stepsInIteration < settings.iterationSteps && state.agentSteps < settings.budgetAgentSteps {
                let before = env.episodeFrames
                let r = env.step(state.pendingAction)
                state.agentSteps += 1
                state.stepsInIteration += 1
                state.episodeLength += 1
                state.trainingFrames += env.episodeFrames - before
                if r.episodeEnded {
                    env.withFrame { agent.endEpisode(reward: r.trainingReward, frame: $0, terminated: r.terminated, truncated: r.truncated) }
                    let ret = env.episodeReturn
                    state.iterationReturns.append(ret)
                    state.recentReturns.append(ret)
                    if state.recentReturns.count > 10 { state.recentReturns.removeFirst() }
                    try metrics.append(.episode(EpisodeMetrics(phase: .train, iteration: state.iteration, agentSteps: state.agentSteps,
                                                               frames: state.trainingFrames, episodeReturn: ret,
                                                               length: state.episodeLength, wallSeconds: wall())))
                    tb.scalar("train/episode_return", ret, step: state.agentSteps)
                    tb.scalar("train/episode_length", Double(state.episodeLength), step: state.agentSteps)
                    state.episodeLength = 0
                    try env.reset()
                    state.trainingFrames += env.episodeFrames  // its no-op and FIRE frames
                    state.pendingAction = env.withFrame { agent.beginEpisode(frame: $0, training: true) }
                } else {
                    state.pendingAction = env.withFrame {
                        agent.step(reward: r.trainingReward, frame: $0, lifeLost: terminalOnLifeLoss && r.lifeLost)
                    }
                }
                if state.agentSteps - lastProgressStep >= hooks.progressInterval {
                    lastProgressStep = state.agentSteps
                    hooks.progress(snapshot(.train), false)
                }
                if hooks.shouldStop() {
                    state.wallSeconds = wall()
                    try checkpoint(store: store, state: &state, agent: agent, env: env)
                    try tb.flush()
                    hooks.log("Stopped at \(state.agentSteps) agent steps with a checkpoint; run the same command again to resume.")
                    return .stopped(agentSteps: state.agentSteps)
                }
            }
            let trainSeconds = clock.seconds - phaseStart.time
            let trainRate = trainSeconds > 0 ? Double(state.agentSteps - phaseStart.steps) / trainSeconds : nil

            // Evaluation phase: fresh environments, seeds derived from the run seed and iteration.
            let iteration = state.iteration
            let evalStart = clock.seconds
            let evals = try Evaluator.run(agent: try evaluationAgent(copying: agent, phase: "iteration-\(iteration)"), game: settings.game, settings: protocolSettings,
                                          episodes: settings.evalEpisodes, runSeed: settings.seed,
                                          phase: "iteration-\(iteration)", romDirectory: romDirectory) { i, e in
                try metrics.append(.episode(EpisodeMetrics(phase: .eval, iteration: iteration, agentSteps: state.agentSteps,
                                                           frames: state.trainingFrames, episodeReturn: e.score,
                                                           length: e.length, wallSeconds: wall())))
                try EpisodeArchive.save(e, game: self.settings.game, settings: self.protocolSettings, agent: self.settings.agent,
                                        to: EpisodeArchive.url(in: self.runDirectory, phase: "iteration-\(iteration)", index: i))
            }
            let summary = EvaluationSummary(game: settings.game, protocol: settings.protocol.rawValue, agent: settings.agent,
                                            seed: settings.seed, agentSteps: state.agentSteps, episodes: evals,
                                            evalEpsilon: agentConfig.evalEpsilon, maxEpisodeFrames: protocolSettings.evalMaxEpisodeFrames)
            let stats = agent.statistics
            let trainMean = state.iterationReturns.isEmpty ? nil : state.iterationReturns.reduce(0, +) / Double(state.iterationReturns.count)
            try metrics.append(.iteration(IterationMetrics(
                iteration: iteration, agentSteps: state.agentSteps, frames: state.trainingFrames,
                trainMeanReturn: trainMean, trainEpisodes: state.iterationReturns.count,
                evalMeanReturn: evals.isEmpty ? nil : summary.mean, evalStdReturn: evals.isEmpty ? nil : summary.std,
                evalEpisodes: evals.count, evalHumanNormalized: evals.isEmpty ? nil : summary.humanNormalized,
                loss: stats.lastLoss, qMean: stats.lastQMean, epsilon: stats.epsilon, stepsPerSecond: trainRate,
                wallSeconds: wall())))
            hooks.log(ProgressFormat.iterationSummary(
                iteration: iteration, agentSteps: state.agentSteps, evaluation: evals.isEmpty ? nil : summary,
                trainMeanReturn: trainMean, trainEpisodes: state.iterationReturns.count,
                trainStepsPerSecond: trainRate, evalSeconds: clock.seconds - evalStart))
            let step = state.agentSteps
            if let trainMean { tb.scalar("train/mean_return", trainMean, step: step) }
            if !evals.isEmpty {
                tb.scalar("eval/mean_return", summary.mean, step: step)
                tb.scalar("eval/std_return", summary.std, step: step)
                if let h = summary.humanNormalized { tb.scalar("eval/human_normalized", h, step: step) }
            }
            if let l = stats.lastLoss { tb.scalar("train/loss", l, step: step) }
            if let q = stats.lastQMean { tb.scalar("train/q_mean", q, step: step) }
            tb.scalar("train/epsilon", stats.epsilon, step: step)
            tb.scalar("train/replay_fill", Double(stats.replayTransitions), step: step)
            if let trainRate { tb.scalar("perf/steps_per_second", trainRate, step: step) }
            try tb.flush()

            state.iteration += 1
            state.stepsInIteration = 0
            state.iterationReturns = []
            state.wallSeconds = wall()
            try checkpoint(store: store, state: &state, agent: agent, env: env)
            hooks.progress(snapshot(.train), true)
            if hooks.shouldStop() && state.agentSteps < settings.budgetAgentSteps {
                hooks.log("Stopped at \(state.agentSteps) agent steps with a checkpoint; run the same command again to resume.")
                return .stopped(agentSteps: state.agentSteps)
            }
        }

        // Final evaluation.
        let evaluationURL = runDirectory.appendingPathComponent("evaluation.json")
        let done = (try? Data(contentsOf: evaluationURL)).flatMap { try? JSONDecoder().decode(EvaluationSummary.self, from: $0) }
        if done?.agentSteps != state.agentSteps {  // a finished run is not evaluated again
            let finals = try Evaluator.run(agent: try evaluationAgent(copying: agent, phase: "final"), game: settings.game, settings: protocolSettings,
                                           episodes: settings.finalEvalEpisodes, runSeed: settings.seed, phase: "final",
                                           romDirectory: romDirectory, recordValues: true) { i, e in
                try EpisodeArchive.save(e, game: self.settings.game, settings: self.protocolSettings, agent: self.settings.agent,
                                        to: EpisodeArchive.url(in: self.runDirectory, phase: "final", index: i))
            }
            var summary = EvaluationSummary(game: settings.game, protocol: settings.protocol.rawValue, agent: settings.agent,
                                            seed: settings.seed, agentSteps: state.agentSteps, episodes: finals,
                                            evalEpsilon: agentConfig.evalEpsilon, maxEpisodeFrames: protocolSettings.evalMaxEpisodeFrames)
            // The final weights' values against what followed (`arena evaluate --value-check`):
            // one more forward pass a step, no action changed.
            summary.valueCheck = ValueCheck.measure(episodes: finals, gamma: agentConfig.gamma)
            try agent.saveWeights(to: runDirectory.appendingPathComponent("weights.safetensors"))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try AtomicFile.write(try encoder.encode(summary), to: evaluationURL)
        }
        return .finished
    }

    /// A separate agent for an evaluation phase with the training agent's current weights, so the
    /// training episode in progress is untouched, and seeded from the phase so a resumed run
    /// evaluates exactly as an uninterrupted one.
    func evaluationAgent(copying agent: DQNAgent, phase: String) throws -> DQNAgent {
        var g = SeededGenerator(seed: settings.seed, stream: "eval-agent-\(phase)")
        let e = try EvaluationRequest.evaluationAgent(config: agentConfig, actionCount: agent.actionCount,
                                                      seed: g.next(), name: settings.agent)
        e.learner.parameters = agent.learner.parameters
        return e
    }

    // MARK: Checkpoints

    static let trainerFile = "trainer.json"

    /// Writes the agent (its own files, straight into the new checkpoint), the environment and
    /// the trainer state into a new checkpoint, then the newest weights beside it.
    func checkpoint(store: CheckpointStore, state: inout TrainerState, agent: DQNAgent, env: AtariEnvironment) throws {
        state.environment = try env.saveState()
        let trainerJSON = try JSONEncoder().encode(state)
        state.environment = nil
        _ = try store.write(agentSteps: state.agentSteps) { writer in
            try writer.add(Self.trainerFile, data: trainerJSON)
            try writer.adoptFiles { dir in try agent.save(to: dir) }
        }
        // The newest weights beside the checkpoints, for `arena evaluate --run` and PyTorch users.
        try agent.saveWeights(to: runDirectory.appendingPathComponent("weights.safetensors"))
    }

    /// Restores from a checkpoint that `CheckpointStore.latestValid()` has verified.
    func restore(from checkpoint: URL, agent: DQNAgent, env: AtariEnvironment) throws -> TrainerState {
        let reader = try CheckpointReader(url: checkpoint)
        try agent.restore(from: checkpoint)
        var state = try JSONDecoder().decode(TrainerState.self, from: Data(try reader.bytes(Self.trainerFile)))
        guard let envState = state.environment else {
            throw RunError("Checkpoint \(checkpoint.lastPathComponent) has no environment state; it was not written by this version.")
        }
        try env.restoreState(envState)
        state.environment = nil
        return state
    }
}

/// Monotonic seconds since creation.
struct Stopwatch {
    let start = DispatchTime.now().uptimeNanoseconds
    var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
}
