import Foundation
import ArenaSupport
import NeuralNet

/// Checkpoints of a `DQNAgent`: three files in one directory, each written atomically.
///   dqn-agent.json   configuration, counters, exploration generator, frame stack (base64)
///   learner.bin      online and target parameters, optimizer moments, update count
///   replay.bin       the replay memory (see ReplayMemory+Checkpoint.swift)
/// Restoring all three into an agent built with the same configuration and action count
/// continues bit-identically. The runner adds the checksums and the completion sentinel.
extension DQNAgent {
    static let stateFileName = "dqn-agent.json"
    static let learnerFileName = "learner.bin"
    static let learnerMagic = Array("ATARILRN".utf8)
    static let stateFormat = 1

    struct State: Codable {
        var format: Int
        var name: String
        var actionCount: Int
        var seed: UInt64
        var config: DQNConfig
        var agentSteps: Int
        var updates: Int
        var targetSyncs: Int
        /// Float bit patterns, so NaN survives.
        var lastLossBits: UInt32?
        var lastQMeanBits: UInt32?
        var training: Bool
        var inEpisode: Bool
        var lastAction: Int
        var actGenerator: [UInt64]
        var frameStack: String
        /// Training actions per action since the last diagnostics (absent in older checkpoints: zeros).
        var actionCounts: [Int]?
    }

    public func save(to directory: URL) throws {
        let state = State(format: Self.stateFormat, name: name, actionCount: actionCount, seed: seed, config: config,
                          agentSteps: agentSteps, updates: updates, targetSyncs: targetSyncs,
                          lastLossBits: lastLoss?.bitPattern, lastQMeanBits: lastQMean?.bitPattern,
                          training: training, inEpisode: inEpisode, lastAction: lastAction,
                          actGenerator: actGenerator.state, frameStack: Data(observation).base64EncodedString(),
                          actionCounts: actionCounts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try replay.save(to: directory)
        try saveLearner(to: directory.appendingPathComponent(Self.learnerFileName))
        try AtomicFile.write(try encoder.encode(state), to: directory.appendingPathComponent(Self.stateFileName))
    }

    public func restore(from directory: URL) throws {
        let stateURL = directory.appendingPathComponent(Self.stateFileName)
        guard let data = try? Data(contentsOf: stateURL) else {
            throw CheckpointReadError(path: stateURL.path, reason: "the file does not exist or is unreadable")
        }
        let state: State
        do { state = try JSONDecoder().decode(State.self, from: data) } catch {
            throw CheckpointReadError(path: stateURL.path, reason: "it is not a DQN agent state (\(error))")
        }
        guard state.format == Self.stateFormat else {
            throw CheckpointReadError(path: stateURL.path, reason: "it has format \(state.format), this build reads \(Self.stateFormat)")
        }
        // The evaluation epsilon plays no part in training (evaluation copies take the protocol's),
        // and checkpoints written before this version stored the protocol's value there.
        var saved = state.config
        saved.evalEpsilon = config.evalEpsilon
        guard saved == config else {
            throw CheckpointReadError(path: stateURL.path, reason: "it was saved with a different DQN configuration:\n\(state.config.prettyJSON())\nthis agent has:\n\(config.prettyJSON())")
        }
        guard state.actionCount == actionCount else {
            throw CheckpointReadError(path: stateURL.path, reason: "it was saved with \(state.actionCount) actions, this agent has \(actionCount)")
        }
        guard let stackBytes = Data(base64Encoded: state.frameStack), stackBytes.count == observation.count,
              state.actGenerator.count == 4, state.agentSteps >= 0, state.updates >= 0,
              state.lastAction >= 0, state.lastAction < actionCount else {
            throw CheckpointReadError(path: stateURL.path, reason: "its frame stack, generator or counters are damaged")
        }
        let learnerState = try loadLearner(from: directory.appendingPathComponent(Self.learnerFileName))
        do { try learner.restoreState(learnerState) } catch {
            throw CheckpointReadError(path: directory.appendingPathComponent(Self.learnerFileName).path, reason: "\(error)")
        }
        try replay.restore(from: directory)
        agentSteps = state.agentSteps
        updates = state.updates
        targetSyncs = state.targetSyncs
        lastLoss = state.lastLossBits.map(Float.init(bitPattern:))
        lastQMean = state.lastQMeanBits.map(Float.init(bitPattern:))
        training = state.training
        inEpisode = state.inEpisode
        lastAction = state.lastAction
        actGenerator.state = state.actGenerator
        actionCounts = state.actionCounts.flatMap { $0.count == actionCount ? $0 : nil } ?? [Int](repeating: 0, count: actionCount)
        // Rebuild the ring from the saved frames, oldest first.
        let frames = [UInt8](stackBytes), n = stack.frameSize
        frames.withUnsafeBufferPointer { f in
            // safe because: frames holds depth * n bytes (checked above); frame k is [k * n, (k + 1) * n).
            let base = f.baseAddress.unsafelyUnwrapped
            stack.reset(with: base)
            for k in 1..<stack.depth { stack.push(base + k * n) }
        }
        refreshObservation()
    }

    private func saveLearner(to url: URL) throws {
        let s = learner.exportState()
        var w = BinaryWriter()
        w.append(contentsOf: Self.learnerMagic)
        w.append(UInt32(1))
        w.append(s.network.actions); w.append(s.network.dueling)
        switch s.optimizer {
        case let .rmspropCentered(lr, decay, epsilon):
            w.append(UInt8(0)); w.append(lr); w.append(decay); w.append(Float(0)); w.append(epsilon)
        case let .adam(lr, beta1, beta2, epsilon):
            w.append(UInt8(1)); w.append(lr); w.append(beta1); w.append(beta2); w.append(epsilon)
        }
        w.append(s.updateCount)
        w.append(s.parameters.count)
        for values in [s.parameters, s.targetParameters, s.moment1, s.moment2] { w.appendRaw(values) }
        try AtomicFile.write(w.bytes, to: url)
    }

    private func loadLearner(from url: URL) throws -> LearnerState {
        let fd = try RawFile.openForReading(url.path)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointReadError(path: url.path, reason: "it cannot be inspected") }
        var r = BinaryReader(bytes: try RawFile.readBytes(fd, count: Int(info.st_size), path: url.path), path: url.path)
        guard try r.readBytes(8) == Self.learnerMagic else {
            throw CheckpointReadError(path: url.path, reason: "it is not a learner state file (wrong magic bytes)")
        }
        let version = try r.read(UInt32.self)
        guard version == 1 else { throw CheckpointReadError(path: url.path, reason: "it has format version \(version), this build reads 1") }
        let network = QNetworkConfig(actions: try r.readInt(), dueling: try r.readBool())
        let kind = try r.read(UInt8.self)
        let (a, b, c, d) = (try r.readFloat(), try r.readFloat(), try r.readFloat(), try r.readFloat())
        let optimizer: OptimizerConfig
        switch kind {
        case 0: optimizer = .rmspropCentered(lr: a, decay: b, epsilon: d)
        case 1: optimizer = .adam(lr: a, beta1: b, beta2: c, epsilon: d)
        default: throw CheckpointReadError(path: url.path, reason: "it names an unknown optimizer (\(kind))")
        }
        let updateCount = try r.readInt()
        let count = try r.readInt()
        guard count == learner.parameterCount else {
            throw CheckpointReadError(path: url.path, reason: "it holds \(count) parameters, this network has \(learner.parameterCount)")
        }
        let parameters = try r.readFloatsRaw(count), target = try r.readFloatsRaw(count)
        let m1 = try r.readFloatsRaw(count), m2 = try r.readFloatsRaw(count)
        guard r.remaining == 0 else { throw CheckpointReadError(path: url.path, reason: "it has \(r.remaining) bytes after the moments") }
        // LearnerState has no public initializer: start from this learner's state, replace every field.
        var state = learner.exportState()
        state.network = network; state.optimizer = optimizer
        state.parameters = parameters; state.targetParameters = target
        state.moment1 = m1; state.moment2 = m2
        state.updateCount = updateCount
        return state
    }
}
