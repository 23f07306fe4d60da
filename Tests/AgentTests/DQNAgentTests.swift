import Foundation
import Testing
import ArenaSupport
@testable import NeuralNet
@testable import Agent

/// A small network over 4 x 12 x 10 observations, so a thousand updates take seconds in debug.
let smallAgentShape = NetworkShape(
    inputChannels: 4, inputHeight: 12, inputWidth: 10,
    convs: [.init(outChannels: 4, kernel: 4, stride: 2),   // -> 4x5x4
            .init(outChannels: 6, kernel: 2, stride: 1),   // -> 6x4x3
            .init(outChannels: 4, kernel: 2, stride: 1)],  // -> 4x3x2 = 24
    hidden: 16)
let smallFrameSize = 12 * 10

func smallConfig() -> DQNConfig {
    var c = DQNConfig()
    c.batchSize = 8
    c.replayCapacity = 300
    c.warmupSteps = 50
    c.updatePeriod = 1
    c.targetUpdatePeriod = 25
    c.epsilonDecaySteps = 500
    c.optimizer = OptimizerSettings(kind: .adam, learningRate: 1e-3, epsilon: 1e-4)
    return c
}

func smallAgent(_ config: DQNConfig = smallConfig(), actions: Int = 3, seed: UInt64 = 1) throws -> DQNAgent {
    let learner = QLearner(network: QNetworkConfig(actions: actions, dueling: config.dueling), shape: smallAgentShape,
                           optimizer: config.optimizerConfig, loss: config.lossKind, batchSize: config.batchSize,
                           doubleDQN: config.doubleDQN,
                           gradientClipNorm: config.gradientClipNorm > 0 ? Float(config.gradientClipNorm) : nil, seed: seed)
    return try DQNAgent(config: config, learner: learner, frameSize: smallFrameSize, seed: seed, name: "dqn")
}

/// Synthetic episodes: frames from a seeded stream, rewards that depend on the action (so there
/// is something to learn), life losses, terminations and truncations. The same seed gives the
/// same inputs whatever the agent does... except rewards, which follow its actions.
struct SyntheticEnvironment {
    var generator: SeededGenerator
    let frameSize: Int
    var frame: [UInt8]
    var stepInEpisode = 0

    init(seed: UInt64, frameSize: Int) {
        generator = SeededGenerator(seed: seed, stream: "synthetic-env")
        self.frameSize = frameSize
        frame = [UInt8](repeating: 0, count: frameSize)
    }

    mutating func nextFrame() {
        for i in 0..<frameSize { frame[i] = UInt8(truncatingIfNeeded: generator.next() >> 56) }
    }

    /// Runs `steps` agent steps (in whole episodes plus a part) and returns the actions chosen.
    mutating func drive(_ agent: ArenaAgent, steps: Int, training: Bool = true) -> [Int] {
        var actions: [Int] = []
        var remaining = steps
        while remaining > 0 {
            nextFrame()
            var action = frame.withUnsafeBufferPointer { agent.beginEpisode(frame: $0, training: training) }
            actions.append(action); remaining -= 1
            let length = 5 + Int(generator.next() % 30)
            for t in 1...length {
                nextFrame()
                let reward: Float = action == Int(frame[0] % 3) ? 1 : 0
                if t == length || remaining == 0 {
                    let terminated = generator.next() % 2 == 0
                    frame.withUnsafeBufferPointer {
                        agent.endEpisode(reward: reward, frame: $0, terminated: terminated, truncated: !terminated)
                    }
                    break
                }
                let lifeLost = generator.next() % 17 == 0
                action = frame.withUnsafeBufferPointer { agent.step(reward: reward, frame: $0, lifeLost: lifeLost) }
                actions.append(action); remaining -= 1
            }
        }
        return actions
    }
}

@Suite struct DQNAgentTests {
    /// Updates and syncs follow the documented rule, counted independently here.
    @Test func cadenceFollowsWarmupUpdatePeriodAndTargetPeriod() throws {
        var c = smallConfig()
        c.warmupSteps = 40; c.updatePeriod = 3; c.targetUpdatePeriod = 20
        let agent = try smallAgent(c)
        var env = SyntheticEnvironment(seed: 3, frameSize: smallFrameSize)
        let actions = env.drive(agent, steps: 200)
        #expect(actions.count == 200)
        let s = agent.statistics
        #expect(s.agentSteps == 200)
        // Each action at count k (0-based: actions taken before it) checks k >= warmup.
        let updates = (0..<200).filter { $0 >= 40 && $0 % 3 == 0 }.count
        let syncs = (0..<200).filter { $0 >= 40 && $0 % 20 == 0 }.count
        #expect(s.updates == updates && s.targetSyncs == syncs)
        #expect(s.lastLoss != nil && s.lastQMean != nil)
        #expect(s.replayTransitions > 150)
        #expect(abs(s.epsilon - c.epsilon(atStep: 200)) < 1e-12)
        // Warm-up acts with epsilonStart = 1: uniformly random, all actions show up.
        #expect(Set(actions.prefix(40)).count == 3)
    }

    @Test func evaluationStoresNothingAndCountsNothing() throws {
        let agent = try smallAgent()
        var env = SyntheticEnvironment(seed: 4, frameSize: smallFrameSize)
        _ = env.drive(agent, steps: 60)
        let before = agent.statistics, params = agent.learner.parameters
        let replayFrames = agent.replay.framesWritten
        _ = env.drive(agent, steps: 80, training: false)
        #expect(agent.statistics == before)
        #expect(agent.replay.framesWritten == replayFrames)
        #expect(agent.learner.parameters == params)
    }

    @Test func lifeLossIsATerminalForLearningOnly() throws {
        var c = smallConfig()
        c.warmupSteps = 1000   // no learning: just check what is stored
        let agent = try smallAgent(c)
        var env = SyntheticEnvironment(seed: 5, frameSize: smallFrameSize)
        env.nextFrame()
        _ = env.frame.withUnsafeBufferPointer { agent.beginEpisode(frame: $0, training: true) }
        env.nextFrame()
        _ = env.frame.withUnsafeBufferPointer { agent.step(reward: 1, frame: $0, lifeLost: true) }
        let afterLoss = env.frame
        env.nextFrame()
        _ = env.frame.withUnsafeBufferPointer { agent.step(reward: 0, frame: $0, lifeLost: false) }
        // The transition into the life loss does not bootstrap...
        let w0 = try #require(agent.replay.window(0))
        #expect(!w0.bootstraps)
        // ...while the frame stack went on: the newest two frames are the life-loss frame and the next.
        let stack = agent.observation
        #expect(Array(stack[(2 * smallFrameSize)..<(3 * smallFrameSize)]) == afterLoss)
        #expect(Array(stack[(3 * smallFrameSize)...]) == env.frame)
    }

    /// The acting stack and the stack the replay rebuilds for the same moment are identical.
    @Test func actingAndTrainingSeeTheSameStacks() throws {
        var c = smallConfig(); c.warmupSteps = 1000
        let agent = try smallAgent(c)
        var env = SyntheticEnvironment(seed: 6, frameSize: smallFrameSize)
        env.nextFrame()
        _ = env.frame.withUnsafeBufferPointer { agent.beginEpisode(frame: $0, training: true) }
        var stacks = [agent.observation]
        for _ in 0..<6 {
            env.nextFrame()
            _ = env.frame.withUnsafeBufferPointer { agent.step(reward: 0, frame: $0, lifeLost: false) }
            stacks.append(agent.observation)
        }
        let batch = ReplayBatch(size: 1, stackDepth: 4, frameSize: smallFrameSize)
        for i in 0..<6 {
            agent.replay.fill(batch, row: 0, index: i, window: (1, true))
            #expect(batch.observations == stacks[i], "observation at step \(i)")
            #expect(batch.nextObservations == stacks[i + 1], "next observation at step \(i)")
        }
    }

    /// Fixed seed, one BLAS thread: two agents fed the same synthetic stream end with
    /// bit-identical parameters after 1,000 updates (small network; see agents/README.md for the
    /// full Nature network in a release build). A different seed must differ.
    @Test func thousandUpdatesAreBitIdenticalForTheSameSeed() throws {
        var c = smallConfig()
        c.prioritized.enabled = true; c.nStep = 2; c.doubleDQN = true; c.dueling = true; c.gradientClipNorm = 5
        let steps = c.warmupSteps + 1000   // updatePeriod 1: one update per step after warm-up
        func run(seed: UInt64) throws -> (DQNAgent, [Int]) {
            let agent = try smallAgent(c, seed: seed)
            var env = SyntheticEnvironment(seed: 77, frameSize: smallFrameSize)
            return (agent, env.drive(agent, steps: steps))
        }
        let (a, actionsA) = try run(seed: 10)
        let (b, actionsB) = try run(seed: 10)
        let (other, _) = try run(seed: 11)
        #expect(a.statistics.updates == 1000)
        #expect(actionsA == actionsB)
        #expect(a.learner.parameters == b.learner.parameters)
        #expect(a.learner.targetParameters == b.learner.targetParameters)
        #expect(a.learner.parameters != other.learner.parameters)
        #expect(a.learner.parameters.allSatisfy { $0.isFinite })
    }

    /// Saved mid-run (mid-episode), restored into a fresh agent, both continue identically.
    @Test(arguments: [false, true])
    func saveAndRestoreContinuesBitIdentically(prioritized: Bool) throws {
        var c = smallConfig()
        c.prioritized.enabled = prioritized; c.nStep = 3
        let a = try smallAgent(c, seed: 5)
        var envA = SyntheticEnvironment(seed: 8, frameSize: smallFrameSize)
        _ = envA.drive(a, steps: 150)
        // Stop in the middle of an episode.
        envA.nextFrame()
        _ = envA.frame.withUnsafeBufferPointer { a.beginEpisode(frame: $0, training: true) }
        for _ in 0..<3 { envA.nextFrame(); _ = envA.frame.withUnsafeBufferPointer { a.step(reward: 1, frame: $0, lifeLost: false) } }

        let dir = try ReplayCheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.save(to: dir)
        let b = try smallAgent(c, seed: 999)   // a different seed: everything must come from the files
        try b.restore(from: dir)
        #expect(b.statistics == a.statistics)
        #expect(b.learner.parameters == a.learner.parameters)

        var envB = envA
        var actionsA: [Int] = [], actionsB: [Int] = []
        for _ in 0..<5 {
            envA.nextFrame(); envB.nextFrame()
            actionsA.append(envA.frame.withUnsafeBufferPointer { a.step(reward: 0, frame: $0, lifeLost: false) })
            actionsB.append(envB.frame.withUnsafeBufferPointer { b.step(reward: 0, frame: $0, lifeLost: false) })
        }
        envA.nextFrame(); envB.nextFrame()
        envA.frame.withUnsafeBufferPointer { a.endEpisode(reward: 1, frame: $0, terminated: true, truncated: false) }
        envB.frame.withUnsafeBufferPointer { b.endEpisode(reward: 1, frame: $0, terminated: true, truncated: false) }
        actionsA += envA.drive(a, steps: 120)
        actionsB += envB.drive(b, steps: 120)
        #expect(actionsA == actionsB)
        #expect(a.statistics == b.statistics)
        #expect(a.learner.parameters == b.learner.parameters)
        #expect(a.learner.exportState() == b.learner.exportState())
    }

    @Test func restoringIntoADifferentConfigurationIsAClearError() throws {
        let a = try smallAgent()
        let dir = try ReplayCheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.save(to: dir)
        var c = smallConfig(); c.gamma = 0.9
        let b = try smallAgent(c)
        let e = #expect(throws: CheckpointReadError.self) { try b.restore(from: dir) }
        #expect(e?.description.contains("different DQN configuration") == true)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("learner.bin"))
        #expect(throws: CheckpointReadError.self) { try a.restore(from: dir) }
    }

    @Test func greedyActionsFollowTheQValues() throws {
        var c = smallConfig(); c.evalEpsilon = 0
        let agent = try smallAgent(c)
        var env = SyntheticEnvironment(seed: 9, frameSize: smallFrameSize)
        for _ in 0..<5 {
            env.nextFrame()
            let action = env.frame.withUnsafeBufferPointer { agent.beginEpisode(frame: $0, training: false) }
            let q = agent.currentActionValues()
            let best = q.indices.max { q[$0] < q[$1] || (q[$0] == q[$1] && $0 > $1) } ?? -1
            #expect(action == best, "q \(q)")
        }
    }

    @Test func randomAgentIsSeededAndRestorable() throws {
        let a = RandomAgent(actionCount: 6, seed: 3), b = RandomAgent(actionCount: 6, seed: 3)
        var env = SyntheticEnvironment(seed: 1, frameSize: 4)
        var env2 = env
        let actionsA = env.drive(a, steps: 300), actionsB = env2.drive(b, steps: 300)
        #expect(actionsA == actionsB && Set(actionsA) == Set(0..<6))
        #expect(a.statistics.agentSteps == 300)
        let dir = try ReplayCheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try a.save(to: dir)
        let c = RandomAgent(actionCount: 6, seed: 42)
        try c.restore(from: dir)
        var env3 = env
        #expect(env.drive(a, steps: 50) == env3.drive(c, steps: 50))
    }

    /// The real Nature network through the public initializer: wiring and a few updates.
    @Test func natureNetworkAgentLearnsAFewTimes() throws {
        var c = DQNConfig()
        c.batchSize = 2; c.replayCapacity = 64; c.warmupSteps = 10; c.updatePeriod = 4; c.targetUpdatePeriod = 8
        let agent = try DQNAgent(config: c, actionCount: 4, seed: 2)
        var env = SyntheticEnvironment(seed: 2, frameSize: 84 * 84)
        _ = env.drive(agent, steps: 22)
        #expect(agent.statistics.updates == (10..<22).filter { $0 % 4 == 0 }.count)
        #expect(agent.learner.parameters.allSatisfy { $0.isFinite })
        var bad = c; bad.stackDepth = 3
        #expect(throws: ConfigurationError.self) { try DQNAgent(config: bad, actionCount: 4, seed: 2) }
    }
}

/// The determinism check on the full Nature network: 1,000 updates at batch 32, twice,
/// bit-identical. Too slow for a debug build, so it runs only when asked, in release:
///   ARENA_FULL_DETERMINISM=1 swift test -c release -Xswiftc -enable-testing --filter fullNatureNetwork
@Suite(.enabled(if: ProcessInfo.processInfo.environment["ARENA_FULL_DETERMINISM"] == "1"))
struct FullNetworkDeterminismTests {
    @Test func fullNatureNetworkThousandUpdatesAreBitIdentical() throws {
        var c = DQNConfig()
        c.replayCapacity = 2_000; c.warmupSteps = 200; c.updatePeriod = 1; c.targetUpdatePeriod = 100
        c.doubleDQN = true
        func run() throws -> DQNAgent {
            let agent = try DQNAgent(config: c, actionCount: 6, seed: 2015)
            var env = SyntheticEnvironment(seed: 1, frameSize: 84 * 84)
            _ = env.drive(agent, steps: c.warmupSteps + 1_000)
            return agent
        }
        let a = try run(), b = try run()
        #expect(a.statistics.updates == 1_000)
        #expect(a.learner.exportState() == b.learner.exportState())
    }
}
