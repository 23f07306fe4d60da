import Agent
import ArenaSupport
import Environment
import Foundation

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
    /// Mean return of the training episodes of the last finished iteration (nil before one, and
    /// in checkpoints written before it was kept).
    var lastIterationMeanReturn: Double?
}

/// Hooks the caller uses to watch or stop training (the CLI prints progress and maps signals).
public struct TrainerHooks {
    /// Polled after every agent step; when true the trainer checkpoints and returns.
    public var shouldStop: () -> Bool = { false }
    /// Polled after every agent step of a training phase; when true the trainer writes a
    /// checkpoint there and goes on (besides the one at every iteration's end), so that a run
    /// killed in a long iteration loses less. Given the seconds since the last checkpoint (or
    /// since the run started or resumed). Checkpoints change nothing the run computes.
    public var shouldCheckpoint: (_ secondsSinceCheckpoint: Double) -> Bool = { _ in false }
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
///
/// The trainer knows the agent only through `AgentFactory` and `ArenaAgent`: any agent trains,
/// checkpoints, resumes and evaluates the same way (Dopamine's runner and `create_agent_fn`).
public final class Trainer {
    public let settings: RunSettings
    public let agentFactory: AgentFactory
    public let runDirectory: URL
    public let romDirectory: URL?
    /// The protocol's settings: this version's, or on resume the ones the run recorded when it
    /// started if they differ only by a setting added since (`fireOnLifeLoss`, read as false).
    private(set) var protocolSettings: ProtocolSettings
    /// The threads the agent learns on: the caller's offer, unless the run folder recorded
    /// another number when the run started (kept so a resumed run stays bit-exact).
    public private(set) var compute: ComputeResources
    /// Set when `compute` came from the run folder rather than from the caller.
    private var computeFromRecord = false
    /// Set when `protocolSettings` came from the run folder (see `protocolSettings`).
    private var protocolFromRecord = false

    public init(settings: RunSettings, agent: AgentFactory, runDirectory: URL, romDirectory: URL? = nil,
                compute: ComputeResources = ComputeResources(threads: 1)) throws {
        try settings.validate()
        guard settings.agent == agent.name else {
            throw RunError("The run is filed under agent '\(settings.agent)' but the agent is named '\(agent.name)'; give both the same name.")
        }
        self.settings = settings
        self.agentFactory = agent
        self.runDirectory = runDirectory
        self.romDirectory = romDirectory
        self.compute = compute
        protocolSettings = try settings.protocolSettings()
    }

    var record: RunRecord {
        RunRecord(run: settings, arenaVersion: ArenaVersion.string, aleVersion: ArcadeEnvironment.aleVersion,
                  agentKind: agentFactory.kind, agentConfig: agentFactory.configuration,
                  protocolSettings: protocolSettings, threads: compute.threads)
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
    /// allowed: it extends the run) and adopts the threads it started with.
    func prepareFolder() throws {
        let configURL = runDirectory.appendingPathComponent("config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            let existing = try RunRecord.read(from: configURL)
            var mine = settings, theirs = existing.run
            mine.budgetAgentSteps = 0; theirs.budgetAgentSteps = 0
            var recordedProtocol = existing.protocolSettings
            if recordedProtocol != protocolSettings && recordedProtocol.name == protocolSettings.name {
                // A run started before FIRE after a lost life was a setting goes on without it.
                recordedProtocol.preprocessing.fireOnLifeLoss = protocolSettings.preprocessing.fireOnLifeLoss
                if recordedProtocol == protocolSettings { protocolFromRecord = true }
            }
            guard mine == theirs, recordedProtocol == protocolSettings, existing.agentKind == agentFactory.kind,
                  agentFactory.sameConfiguration(as: existing.agentConfig) else {
                throw RunError("The run folder \(runDirectory.path) holds a run with a different configuration (game, agent settings, protocol or seed); resume it with the same settings, or train into another folder with --out.")
            }
            if protocolFromRecord { protocolSettings = existing.protocolSettings }
            if let recorded = existing.threads, recorded >= 1 {
                computeFromRecord = recorded != compute.threads
                compute = ComputeResources(threads: recorded)
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
        let why = computeFromRecord ? " as when this run started (kept on resume so the run stays bit-exact)" : ""
        hooks.log("Agent threads: \(compute.threads)\(why).")
        if protocolFromRecord {
            hooks.log("Protocol \(protocolSettings.name) as recorded when this run started (no FIRE after a lost life; this version's \(protocolSettings.name) presses it).")
        }
        let session = try TrainingSession(trainer: self, hooks: hooks)
        defer { session.close() }
        while session.state.agentSteps < settings.budgetAgentSteps {
            if try session.trainPhase() == .stopRequested { return try session.stop(checkpoint: true) }
            let evaluation = try session.evaluatePhase()
            try session.recordIteration(evaluation)
            if hooks.shouldStop() && session.state.agentSteps < settings.budgetAgentSteps {
                return try session.stop(checkpoint: false)
            }
        }
        try session.finalEvaluation()
        return .finished
    }

    /// A separate agent for an evaluation phase with the training agent's current policy, so the
    /// training episode in progress is untouched, and seeded from the phase so a resumed run
    /// evaluates exactly as an uninterrupted one.
    func evaluationAgent(copying agent: ArenaAgent, phase: String, epsilon: Double) throws -> ArenaAgent {
        var g = SeededGenerator(seed: settings.seed, stream: "eval-agent-\(phase)")
        return try agent.evaluationCopy(epsilon: epsilon, seed: g.next())
    }

    /// The epsilon a run's final evaluation also plays at, beside the protocol's: the training
    /// epsilon CleanRL reports its scores at.
    static let besideProtocolEpsilon = 0.01

    // MARK: Checkpoints

    static let trainerFile = "trainer.json"

    /// Writes the agent (its own files, straight into the new checkpoint), the environment and
    /// the trainer state into a new checkpoint, then what the agent publishes beside it.
    func checkpoint(store: CheckpointStore, state: inout TrainerState, agent: ArenaAgent, env: AtariEnvironment) throws {
        state.environment = try env.saveState()
        let trainerJSON = try JSONEncoder().encode(state)
        state.environment = nil
        _ = try store.write(agentSteps: state.agentSteps) { writer in
            try writer.add(Self.trainerFile, data: trainerJSON)
            try writer.adoptFiles { dir in try agent.save(to: dir) }
        }
        // The newest published files (DQN: weights.safetensors) for `arena evaluate --run`.
        try agent.publish(to: runDirectory)
    }

    /// Restores from a checkpoint that `CheckpointStore.latestValid()` has verified.
    func restore(from checkpoint: URL, agent: ArenaAgent, env: AtariEnvironment) throws -> TrainerState {
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
