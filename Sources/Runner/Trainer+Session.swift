import Agent
import ArenaSupport
import Environment
import Foundation

/// One `Trainer.run` from start (or resume) to finish, in named phases: a training phase, an
/// evaluation phase, the iteration's record and checkpoint, and the final evaluation. Holds
/// what the phases share: the agent, the environment, the run folder's writers and the state a
/// checkpoint saves.
final class TrainingSession {
    let trainer: Trainer
    let hooks: TrainerHooks
    let agent: ArenaAgent
    let env: AtariEnvironment
    let store: CheckpointStore
    let metrics: MetricsLog
    let tb: TensorBoardWriter
    var state = TrainerState()
    private let clock = Stopwatch()
    private let wallAtStart: Double
    private var lastProgressStep: Int
    /// `clock.seconds` when the newest checkpoint was written (0: none since the start or resume).
    private var lastCheckpointTime = 0.0

    var settings: RunSettings { trainer.settings }
    var protocolSettings: ProtocolSettings { trainer.protocolSettings }

    /// Builds the agent and the environment, and restores both from the newest complete
    /// checkpoint, or starts the first training episode.
    init(trainer: Trainer, hooks: TrainerHooks) throws {
        self.trainer = trainer
        self.hooks = hooks
        let settings = trainer.settings, protocolSettings = trainer.protocolSettings
        let runDirectory = trainer.runDirectory
        env = try AtariEnvironment(game: settings.game, emulator: protocolSettings.emulator,
                                   preprocessing: protocolSettings.preprocessing, seed: settings.seed,
                                   romDirectory: trainer.romDirectory)
        agent = try trainer.agentFactory.makeAgent(AgentContext(actionCount: env.actionCount, seed: settings.seed,
                                                                compute: trainer.compute))
        guard agent.actionCount == env.actionCount else {
            throw RunError("The agent was built with \(agent.actionCount) actions but \(settings.game) under \(settings.protocol) has \(env.actionCount).")
        }
        store = CheckpointStore(directory: runDirectory.appendingPathComponent("checkpoints"), keep: settings.keepCheckpoints)
        metrics = try MetricsLog(directory: runDirectory)
        var resumedAt: Int? = nil
        do {
            if let latest = try store.latestValid() {
                for w in latest.warnings { hooks.log(w) }
                state = try trainer.restore(from: latest.url, agent: agent, env: env)
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
                let agent = self.agent
                state.pendingAction = env.withFrame { agent.beginEpisode(frame: $0, training: true) }
            }
            tb = try TensorBoardWriter(directory: runDirectory, resumingAfter: resumedAt)
        } catch {
            metrics.close()
            throw error
        }
        wallAtStart = state.wallSeconds
        lastProgressStep = state.agentSteps
    }

    func close() {
        tb.close()
        metrics.close()
    }

    private func wall() -> Double { wallAtStart + clock.seconds }

    private func snapshot() -> ProgressSnapshot {
        let stats = agent.statistics
        return ProgressSnapshot(iteration: state.iteration, phase: .train, agentSteps: state.agentSteps,
                                budgetAgentSteps: settings.budgetAgentSteps, frames: state.trainingFrames,
                                recentMeanReturn: mean(state.recentReturns), epsilon: stats.epsilon, loss: stats.lastLoss,
                                replayFill: stats.replayTransitions, replayCapacity: stats.replayCapacity)
    }

    // MARK: Training phase

    enum PhaseEnd { case finished, stopRequested }

    /// Training speed of the last training phase (agent steps per second), for the iteration's record.
    private var trainStepsPerSecond: Double?

    /// Acts and learns until the iteration's training steps or the budget are used up, or a
    /// stop is requested.
    func trainPhase() throws -> PhaseEnd {
        let start = (steps: state.agentSteps, time: clock.seconds)
        defer {
            let seconds = clock.seconds - start.time
            trainStepsPerSecond = seconds > 0 ? Double(state.agentSteps - start.steps) / seconds : nil
        }
        while state.stepsInIteration < settings.iterationSteps && state.agentSteps < settings.budgetAgentSteps {
            try trainStep()
            if state.agentSteps - lastProgressStep >= hooks.progressInterval {
                lastProgressStep = state.agentSteps
                hooks.progress(snapshot(), false)
            }
            if hooks.shouldStop() { return .stopRequested }
            if state.stepsInIteration < settings.iterationSteps && state.agentSteps < settings.budgetAgentSteps
                && hooks.shouldCheckpoint(clock.seconds - lastCheckpointTime) {
                try writeCheckpoint()
                hooks.log("Checkpoint at \(state.agentSteps) agent steps (within iteration \(state.iteration)).")
            }
        }
        return .finished
    }

    /// A checkpoint of the run as it stands (its wall time included), with the events flushed.
    private func writeCheckpoint() throws {
        state.wallSeconds = wall()
        try trainer.checkpoint(store: store, state: &state, agent: agent, env: env)
        try tb.flush()
        lastCheckpointTime = clock.seconds
    }

    /// One agent step: the pending action in the environment, the outcome to the agent (which
    /// stores and learns as it sees fit), and a new episode when this one ended.
    private func trainStep() throws {
        let before = env.episodeFrames
        let r = env.step(state.pendingAction)
        state.agentSteps += 1
        state.stepsInIteration += 1
        state.episodeLength += 1
        state.trainingFrames += env.episodeFrames - before
        let agent = self.agent
        guard r.episodeEnded else {
            let lifeLost = r.isTerminalForLearning(protocolSettings.preprocessing)
            state.pendingAction = env.withFrame { agent.step(reward: r.trainingReward, frame: $0, lifeLost: lifeLost) }
            return
        }
        env.withFrame { agent.endEpisode(reward: r.trainingReward, frame: $0, terminated: r.terminated, truncated: r.truncated) }
        let ret = env.episodeReturn
        state.iterationReturns.append(ret)
        state.recentReturns.append(ret)
        if state.recentReturns.count > 10 { state.recentReturns.removeFirst() }
        try metrics.append(.episode(EpisodeMetrics(phase: .train, iteration: state.iteration, agentSteps: state.agentSteps,
                                                   frames: state.trainingFrames, episodeReturn: ret,
                                                   length: state.episodeLength, wallSeconds: wall())))
        tb.scalar(MetricName.trainEpisodeReturn, ret, step: state.agentSteps)
        tb.scalar(MetricName.trainEpisodeLength, Double(state.episodeLength), step: state.agentSteps)
        state.episodeLength = 0
        try env.reset()
        state.trainingFrames += env.episodeFrames  // its no-op and FIRE frames
        state.pendingAction = env.withFrame { agent.beginEpisode(frame: $0, training: true) }
    }

    /// Checkpoints (unless the iteration's checkpoint was just written) and reports the stop.
    func stop(checkpoint: Bool) throws -> TrainingOutcome {
        if checkpoint { try writeCheckpoint() }
        hooks.log("Stopped at \(state.agentSteps) agent steps with a checkpoint; run the same command again to resume.")
        return .stopped(agentSteps: state.agentSteps)
    }

    // MARK: Evaluation phases

    /// Plays `episodes` evaluation episodes of a copy of the agent, saving each episode file;
    /// `recordValues` also keeps the copy's values for the value check (value-based agents).
    /// `epsilon`: the protocol's unless given; another one is named in the episode files.
    private func evaluate(phase: String, episodes: Int, recordValues: Bool, epsilon: Double? = nil,
                          onEpisode: (Int, EvaluatedEpisode) throws -> Void = { _, _ in }) throws -> EvaluationSummary {
        var protocolSettings = self.protocolSettings
        if let epsilon, epsilon != protocolSettings.evalEpsilon {
            protocolSettings.evalEpsilon = epsilon
            protocolSettings.name += ", eval epsilon \(epsilon)"
        }
        let player = try trainer.evaluationAgent(copying: agent, phase: phase, epsilon: protocolSettings.evalEpsilon)
        let discount = recordValues ? (player as? ActionValueAgent)?.discount : nil
        let runDirectory = trainer.runDirectory, game = settings.game, agentName = settings.agent
        let played = try Evaluator.run(agent: player, game: game, settings: protocolSettings, episodes: episodes,
                                       runSeed: settings.seed, phase: phase, romDirectory: trainer.romDirectory,
                                       recordValues: discount != nil) { i, e in
            try onEpisode(i, e)
            try EpisodeArchive.save(e, game: game, settings: protocolSettings, agent: agentName,
                                    to: EpisodeArchive.url(in: runDirectory, phase: phase, index: i))
        }
        var summary = EvaluationSummary(game: game, settings: protocolSettings, agent: agentName, seed: settings.seed,
                                        agentSteps: state.agentSteps, episodes: played)
        // The values against what followed (`arena evaluate --value-check`): no action changed.
        if let discount { summary.valueCheck = ValueCheck.measure(episodes: played, gamma: discount) }
        return summary
    }

    /// The iteration's evaluation (nil without evaluation episodes) and how long it took.
    struct IterationEvaluation {
        var summary: EvaluationSummary?
        var seconds: Double
        /// The agent's diagnostics of the training phase, taken before the evaluation.
        var diagnostics: [(name: String, value: Double)]
    }

    func evaluatePhase() throws -> IterationEvaluation {
        let diagnostics = agent.iterationDiagnostics()
        let start = clock.seconds
        let iteration = state.iteration
        let summary = try evaluate(phase: "iteration-\(iteration)", episodes: settings.evalEpisodes, recordValues: false) { _, e in
            try metrics.append(.episode(EpisodeMetrics(phase: .eval, iteration: iteration, agentSteps: state.agentSteps,
                                                       frames: state.trainingFrames, episodeReturn: e.score,
                                                       length: e.length, wallSeconds: wall())))
        }
        return IterationEvaluation(summary: summary.episodes.isEmpty ? nil : summary, seconds: clock.seconds - start,
                                   diagnostics: diagnostics)
    }

    /// The iteration's row in metrics.jsonl, its TensorBoard scalars, its line for the user, and
    /// its checkpoint; then the next iteration begins.
    func recordIteration(_ evaluation: IterationEvaluation) throws {
        let stats = agent.statistics
        let trainMean = mean(state.iterationReturns)
        let e = evaluation.summary
        var row = IterationMetrics(
            iteration: state.iteration, agentSteps: state.agentSteps, frames: state.trainingFrames,
            trainMeanReturn: trainMean, trainEpisodes: state.iterationReturns.count,
            evalMeanReturn: e?.mean, evalStdReturn: e?.std, evalEpisodes: e?.episodes.count ?? 0,
            evalHumanNormalized: e?.humanNormalized, loss: stats.lastLoss, qMean: stats.lastQMean,
            epsilon: stats.epsilon, stepsPerSecond: trainStepsPerSecond, wallSeconds: wall())
        let diagnostics = evaluation.diagnostics
        for d in diagnostics { row.agent[d.name] = d.value }
        try metrics.append(.iteration(row))
        hooks.log(ProgressFormat.iterationSummary(
            iteration: state.iteration, agentSteps: state.agentSteps, evaluation: e, trainMeanReturn: trainMean,
            trainEpisodes: state.iterationReturns.count, trainStepsPerSecond: trainStepsPerSecond, evalSeconds: evaluation.seconds))
        let step = state.agentSteps
        var scalars: [(String, Double?)] = [
            (MetricName.trainMeanReturn, trainMean),
            (MetricName.evalMeanReturn, e?.mean), (MetricName.evalStdReturn, e?.std),
            (MetricName.evalHumanNormalized, e?.humanNormalized),
            (MetricName.trainLoss, stats.lastLoss), (MetricName.trainQMean, stats.lastQMean),
            (MetricName.trainEpsilon, stats.epsilon), (MetricName.trainReplayFill, Double(stats.replayTransitions)),
            (MetricName.stepsPerSecond, trainStepsPerSecond),
        ]
        scalars += diagnostics.map { (MetricName.agentPrefix + $0.name, $0.value) }
        scalars.removeAll { $0.1 == nil }
        for (tag, value) in scalars { tb.scalar(tag, value ?? 0, step: step) }
        try tb.flush()

        state.iteration += 1
        state.stepsInIteration = 0
        state.lastIterationMeanReturn = trainMean
        state.iterationReturns = []
        state.wallSeconds = wall()
        try trainer.checkpoint(store: store, state: &state, agent: agent, env: env)
        lastCheckpointTime = clock.seconds
        hooks.progress(snapshot(), true)
    }

    /// The final evaluation into evaluation.json (with the value check for value-based agents);
    /// a finished run is not evaluated again.
    func finalEvaluation() throws {
        let url = trainer.runDirectory.appendingPathComponent("evaluation.json")
        let done = (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode(EvaluationSummary.self, from: $0) }
        guard done?.agentSteps != state.agentSteps else { return }
        var summary = try evaluate(phase: "final", episodes: settings.finalEvalEpisodes, recordValues: true)
        summary.trainMeanReturn = state.lastIterationMeanReturn
        let other = Trainer.besideProtocolEpsilon
        if settings.finalEvalEpisodes > 0 && other != protocolSettings.evalEpsilon {
            let beside = try evaluate(phase: "final-epsilon-\(other)", episodes: settings.finalEvalEpisodes, recordValues: false,
                                      epsilon: other)
            summary.besideProtocol = [EvaluationSummary.OtherEpsilon(evalEpsilon: other, episodes: beside.episodes.count,
                                                                     mean: beside.mean, std: beside.std,
                                                                     humanNormalized: beside.humanNormalized)]
        }
        try agent.publish(to: trainer.runDirectory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(summary), to: url)
    }
}

/// The mean of `values`, nil for none.
func mean(_ values: [Double]) -> Double? {
    values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
}
