import Foundation
import Testing
@testable import NeuralNet

/// The learner: TD targets, Double DQN, the loss gradient, determinism, and state round trips.
@Suite struct QLearnerTests {
    static func smallLearner(dueling: Bool = false, double: Bool = false, optimizer: OptimizerConfig = .nature2015,
                             loss: LossKind = .huber, batch: Int = 4, clip: Float? = nil, lanes: Int = 1,
                             seed: UInt64 = 1) -> QLearner {
        QLearner(network: QNetworkConfig(actions: 3, dueling: dueling), shape: smallShape, optimizer: optimizer,
                 loss: loss, batchSize: batch, doubleDQN: double, gradientClipNorm: clip, lanes: lanes, seed: seed)
    }

    static func fill(_ batch: TrainingBatch, actions: Int, seed: UInt64) {
        let n = batch.batchSize
        batch.observations = randomBytes(batch.observations.count, seed: seed)
        batch.nextObservations = randomBytes(batch.nextObservations.count, seed: seed + 1000)
        var g = SeededGenerator(seed: seed, stream: "batch")
        for i in 0..<n {
            batch.actions[i] = Int32(g.next() % UInt64(actions))
            batch.rewards[i] = Float(Int(g.next() % 3)) - 1
            batch.discounts[i] = g.next() % 4 == 0 ? 0 : 0.99
            batch.weights[i] = 0.5 + g.nextUnitFloat()
        }
    }

    static func q(_ learner: QLearner, _ obs: [UInt8], count: Int) -> [Float] {
        var out = [Float](repeating: 0, count: count * learner.network.actions)
        obs.withUnsafeBufferPointer { o in out.withUnsafeMutableBufferPointer { q in
            learner.qValues(observations: o.base, count: count, into: q.baseAddress!)
        } }
        return out
    }

    /// TD errors and loss recomputed from the learner's own Q-values with the formulas written out.
    @Test(arguments: [(false, LossKind.huber), (true, .huber), (true, .mse), (false, .mse)])
    func tdErrorsAndLossFollowTheFormula(args: (Bool, LossKind)) {
        let (double, loss) = args
        let learner = Self.smallLearner(dueling: true, double: double, loss: loss, batch: 16)
        // A different target network, so online and target argmax can disagree.
        learner.targetParameters = randomFloats(learner.parameterCount, scale: 1, seed: 7)
        let batch = learner.makeBatch()
        Self.fill(batch, actions: 3, seed: 3)
        let n = batch.batchSize, a = 3
        let qOnline = Self.q(learner, batch.observations, count: n)
        let qOnlineNext = Self.q(learner, batch.nextObservations, count: n)
        let online = learner.parameters
        learner.parameters = learner.targetParameters
        let qTargetNext = Self.q(learner, batch.nextObservations, count: n)
        learner.parameters = online
        var expectedLoss = 0.0
        var expectedTD: [Float] = []
        var disagreements = 0
        for i in 0..<n {
            let rowOnline = Array(qOnlineNext[(i * a)..<(i * a + a)]), rowTarget = Array(qTargetNext[(i * a)..<(i * a + a)])
            let pickOnline = rowOnline.indices.max { rowOnline[$0] < rowOnline[$1] }!
            let pickTarget = rowTarget.indices.max { rowTarget[$0] < rowTarget[$1] }!
            if pickOnline != pickTarget { disagreements += 1 }
            let next = double ? rowTarget[pickOnline] : rowTarget[pickTarget]
            let y = Double(batch.rewards[i]) + Double(batch.discounts[i]) * Double(next)
            let d = Double(qOnline[i * a + Int(batch.actions[i])]) - y
            let l = loss == .huber ? (abs(d) <= 1 ? 0.5 * d * d : abs(d) - 0.5) : d * d
            expectedLoss += Double(batch.weights[i]) * l
            expectedTD.append(Float(abs(d)))
        }
        let stats = learner.update(batch)
        #expect(closeness(batch.tdErrors, expectedTD, atol: 1e-5, rtol: 1e-4) <= 1)
        #expect(abs(Double(stats.loss) - expectedLoss / Double(n)) < 1e-5 + 1e-5 * expectedLoss / Double(n))
        if double { #expect(disagreements > 0, "the batch does not exercise Double DQN's argmax") }
        #expect(learner.updateCount == 1)
        #expect(learner.parameters != online, "the optimizer step changed nothing")
        #expect(learner.targetParameters == randomFloats(learner.parameterCount, scale: 1, seed: 7), "update touched the target network")
    }

    /// The learner's gradient equals central differences of the weighted mean loss.
    @Test(arguments: [LossKind.huber, .mse])
    func lossGradientMatchesFiniteDifferences(loss: LossKind) {
        let learner = Self.smallLearner(dueling: false, double: false, loss: loss)
        let batch = learner.makeBatch()
        Self.fill(batch, actions: 3, seed: 11)
        let n = batch.batchSize, a = 3
        let p0 = learner.parameters
        let qNext = Self.q(learner, batch.nextObservations, count: n)  // target == online at init
        let ys = (0..<n).map { i in
            Double(batch.rewards[i]) + Double(batch.discounts[i]) * Double(qNext[(i * a)..<(i * a + a)].max()!)
        }
        func lossAt(_ p: [Float]) -> Double {
            learner.parameters = p
            let q = Self.q(learner, batch.observations, count: n)
            var sum = 0.0
            for i in 0..<n {
                let d = Double(q[i * a + Int(batch.actions[i])]) - ys[i]
                let l = loss == .huber ? (abs(d) <= 1 ? 0.5 * d * d : abs(d) - 0.5) : d * d
                sum += Double(batch.weights[i]) * l
            }
            return sum / Double(n)
        }
        learner.update(batch)
        let g = learner.lastGradients
        var checked = 0
        var gen = SeededGenerator(seed: 12)
        for _ in 0..<60 {
            let j = Int(gen.next() % UInt64(p0.count))
            let eps: Float = 1e-3
            var plus = p0; plus[j] += eps
            var minus = p0; minus[j] -= eps
            let fd = Float((lossAt(plus) - lossAt(minus)) / Double(2 * eps))
            if abs(g[j] - fd) <= 5e-4 + 1e-2 * abs(fd) { checked += 1 }
        }
        // A few coordinates may straddle a ReLU kink or the Huber corner.
        #expect(checked >= 54, "only \(checked) of 60 coordinates match finite differences")
    }

    @Test func twoLearnersWithTheSameSeedStayBitIdentical() {
        for (optimizer, dueling, double, clip) in [(OptimizerConfig.nature2015, false, false, Float?.none),
                                                   (.adam(lr: 1e-3), true, true, Float?.some(1))] {
            let a = Self.smallLearner(dueling: dueling, double: double, optimizer: optimizer, batch: 5, clip: clip, seed: 42)
            let b = Self.smallLearner(dueling: dueling, double: double, optimizer: optimizer, batch: 5, clip: clip, seed: 42)
            #expect(a.parameters == b.parameters)
            let batch = a.makeBatch()
            for step in 0..<50 {
                Self.fill(batch, actions: 3, seed: UInt64(step))
                let sa = a.update(batch)
                let tdA = batch.tdErrors
                let sb = b.update(batch)
                #expect(sa == sb)
                #expect(tdA == batch.tdErrors)
                if step % 10 == 9 { a.syncTarget(); b.syncTarget() }
            }
            #expect(a.parameters == b.parameters)
            #expect(a.exportState() == b.exportState())
            let c = Self.smallLearner(dueling: dueling, double: double, optimizer: optimizer, batch: 5, clip: clip, seed: 43)
            #expect(c.parameters != Self.smallLearner(dueling: dueling, seed: 42).parameters, "the seed changes the initialization")
        }
    }

    /// N lanes split the batch in pieces (3 + 2 with two lanes, 1 + 2 + 2 with three, one sample
    /// each with five, more lanes than this machine has cores) whose gradients are summed: the same
    /// update as one piece up to float rounding, and bit-identical between two learners with the
    /// same lane count. Seven lanes on a batch of 5 run as 5.
    @Test(arguments: [2, 3, 5, 7])
    func lanesMatchOneLaneAndStayDeterministic(lanes: Int) {
        for (dueling, double, clip) in [(false, false, Float?.none), (true, true, Float?.some(0.5))] {
            let one = Self.smallLearner(dueling: dueling, double: double, optimizer: .adam(lr: 1e-3), batch: 5, clip: clip, seed: 8)
            let two = Self.smallLearner(dueling: dueling, double: double, optimizer: .adam(lr: 1e-3), batch: 5, clip: clip,
                                        lanes: lanes, seed: 8)
            let twin = Self.smallLearner(dueling: dueling, double: double, optimizer: .adam(lr: 1e-3), batch: 5, clip: clip,
                                         lanes: lanes, seed: 8)
            #expect(one.lanes == 1 && two.lanes == min(lanes, 5))
            let batch = one.makeBatch()
            Self.fill(batch, actions: 3, seed: 300)
            let s1 = one.update(batch); let td1 = batch.tdErrors
            let s2 = two.update(batch); let td2 = batch.tdErrors
            let g1 = one.lastGradients, g2 = two.lastGradients
            let scale = g1.map(abs).max() ?? 0
            #expect(scale > 0)
            #expect(zip(g1, g2).allSatisfy { abs($0 - $1) <= 1e-5 * scale }, "two lanes' gradients differ from one lane's")
            #expect(abs(s1.loss - s2.loss) <= 1e-6 * max(1, abs(s1.loss)))
            #expect(abs(s1.qMean - s2.qMean) <= 1e-6 * max(1, abs(s1.qMean)))
            #expect(zip(td1, td2).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($0)) })
            // Every sample's TD error was written (the halves cover the whole batch).
            #expect(!td2.contains(0))
            twin.update(batch)
            for step in 0..<20 {
                Self.fill(batch, actions: 3, seed: UInt64(400 + step))
                let a = two.update(batch), b = twin.update(batch)
                #expect(a == b)
                if step % 7 == 6 { two.syncTarget(); twin.syncTarget() }
            }
            #expect(two.exportState() == twin.exportState())
        }
    }

    @Test func natureNetworkIsDeterministicToo() {
        let make = { QLearner(network: QNetworkConfig(actions: 6, dueling: true), optimizer: .nature2015,
                              loss: .huber, batchSize: 2, doubleDQN: true, gradientClipNorm: 10, seed: 9) }
        let a = make(), b = make()
        #expect(a.parameterCount == 32 * 4 * 64 + 32 + 64 * 32 * 16 + 64 + 64 * 64 * 9 + 64
                + 2 * (3136 * 512 + 512) + 512 + 1 + 512 * 6 + 6)
        let batch = a.makeBatch()
        for step in 0..<8 {
            Self.fill(batch, actions: 6, seed: UInt64(100 + step))
            a.update(batch)
            b.update(batch)
        }
        #expect(a.exportState() == b.exportState())
    }

    @Test func stateRoundTripContinuesBitExactly() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = Self.smallLearner(dueling: true, double: true, optimizer: .adam(lr: 1e-3), seed: 5)
        let batch = a.makeBatch()
        for step in 0..<5 { Self.fill(batch, actions: 3, seed: UInt64(step)); a.update(batch) }
        a.syncTarget()
        Self.fill(batch, actions: 3, seed: 77); a.update(batch)  // target != online now
        let url = dir.appendingPathComponent("learner.safetensors")
        try a.saveState(to: url)
        let b = Self.smallLearner(dueling: true, double: true, optimizer: .adam(lr: 1e-3), seed: 6)
        try b.restoreState(from: url)
        #expect(b.exportState() == a.exportState())
        for step in 10..<15 {
            Self.fill(batch, actions: 3, seed: UInt64(step))
            a.update(batch); b.update(batch)
        }
        #expect(b.exportState() == a.exportState())
        // A learner of another shape refuses the state with a sentence.
        let other = QLearner(network: QNetworkConfig(actions: 4, dueling: true), shape: smallShape, optimizer: .adam(lr: 1e-3),
                             loss: .huber, batchSize: 4, doubleDQN: true, gradientClipNorm: nil, seed: 1)
        #expect(throws: LearnerStateError.self) { try other.restoreState(from: url) }
        let adamOther = Self.smallLearner(dueling: true, optimizer: .nature2015)
        #expect(throws: LearnerStateError.self) { try adamOther.restoreState(from: url) }
    }

    @Test func learningReducesTheLossOnAFixedBatch() {
        let learner = Self.smallLearner(optimizer: .adam(lr: 3e-3), loss: .mse, batch: 6)
        let batch = learner.makeBatch()
        Self.fill(batch, actions: 3, seed: 21)
        for i in 0..<6 { batch.discounts[i] = 0; batch.rewards[i] = Float(i % 3) }  // fixed regression targets
        let first = learner.update(batch).loss
        var last = first
        for _ in 0..<150 { last = learner.update(batch).loss }
        #expect(last < first / 10, "loss went from \(first) to \(last)")
    }

    @Test func greedyActionIsTheArgmax() {
        let learner = Self.smallLearner(dueling: true)
        for s in 0..<5 {
            let obs = randomBytes(learner.net.observationBytes, seed: UInt64(s))
            let q = Self.q(learner, obs, count: 1)
            let action = obs.withUnsafeBufferPointer { learner.greedyAction(observation: $0.base) }
            #expect(q[action] == q.max())
        }
    }
}

import ArenaSupport
