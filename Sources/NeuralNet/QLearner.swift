// The DQN learner: online and target Q-networks over flat buffers, the TD update, the optimizer.
//
// Legend: N batch size, A actions, P parameter count, B observation bytes (4*84*84 = 28224).
// Arenas (each one flat buffer, same layout for the first four): parameters [P], target [P],
// gradients [P], moment1 [P], moment2 [P] (RMSProp: g_avg, sq_avg; Adam: m, v);
// a training workspace for N samples, an acting workspace for 1, scratch for next-state Q-values.

import ArenaSupport
import Foundation

/// One training batch, preallocated once and refilled in place by the replay memory, so an
/// update allocates nothing. A class: it owns big buffers and is passed by reference.
public final class TrainingBatch {
    public let batchSize: Int
    /// Bytes per observation: 4*84*84.
    public let observationBytes: Int
    /// [N, 4, 84, 84] uint8, the stacked observations s.
    public var observations: [UInt8]
    /// [N] action indices a (0..<A).
    public var actions: [Int32]
    /// [N] (n-step discounted) rewards.
    public var rewards: [Float]
    /// [N] gamma^n * (1 - terminated): zero when s' is terminal, gamma^n otherwise (truncation bootstraps).
    public var discounts: [Float]
    /// [N, 4, 84, 84] uint8, the observations s' after n steps.
    public var nextObservations: [UInt8]
    /// [N] importance-sampling weights (all 1 without prioritized replay).
    public var weights: [Float]
    /// [N] written by `QLearner.update`: |Q(s, a) - y| per sample (new priorities).
    public var tdErrors: [Float]

    public init(batchSize: Int, observationBytes: Int = QLearner.observationBytes) {
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.batchSize = batchSize
        self.observationBytes = observationBytes
        observations = [UInt8](repeating: 0, count: batchSize * observationBytes)
        nextObservations = [UInt8](repeating: 0, count: batchSize * observationBytes)
        actions = [Int32](repeating: 0, count: batchSize)
        rewards = [Float](repeating: 0, count: batchSize)
        discounts = [Float](repeating: 0, count: batchSize)
        weights = [Float](repeating: 1, count: batchSize)
        tdErrors = [Float](repeating: 0, count: batchSize)
    }

    func checkShapes() {
        let n = batchSize, b = batchSize * observationBytes
        precondition(observations.count == b && nextObservations.count == b,
                     "observation buffers must hold \(b) bytes, got \(observations.count) and \(nextObservations.count)")
        precondition(actions.count == n && rewards.count == n && discounts.count == n
                     && weights.count == n && tdErrors.count == n,
                     "per-sample buffers must hold \(n) values")
    }
}

/// What one update measured.
public struct UpdateStats: Sendable, Equatable {
    /// Mean over the batch of weight * loss(Q(s, a) - y).
    public var loss: Float
    /// Mean over the batch of Q(s, a) for the taken actions, before the step.
    public var qMean: Float
    /// Global L2 norm of the gradients before clipping; nil without clipping (not computed).
    public var gradientNorm: Float?
}

/// Everything a checkpoint needs to continue training bit-exactly.
public struct LearnerState: Sendable, Equatable {
    public var network: QNetworkConfig
    public var optimizer: OptimizerConfig
    public var parameters: [Float]
    public var targetParameters: [Float]
    /// RMSProp: g_avg; Adam: m.
    public var moment1: [Float]
    /// RMSProp: sq_avg; Adam: v.
    public var moment2: [Float]
    /// Optimizer steps taken (Adam's bias correction uses it).
    public var updateCount: Int
}

/// The Q-network learner the DQN agent drives: acts greedily, learns from batches, syncs its target.
public final class QLearner {
    /// Bytes of one Nature observation: 4 stacked 84x84 uint8 frames.
    public static let observationBytes = 4 * 84 * 84

    public let network: QNetworkConfig
    public let optimizer: OptimizerConfig
    public let loss: LossKind
    public let batchSize: Int
    public let doubleDQN: Bool
    public let gradientClipNorm: Float?
    /// How the update's GEMMs multiply (fp32, or bf16 products with fp32 accumulation). Acting
    /// always runs in fp32.
    public let precision: Precision
    /// What runs the update's convolutions (ours, or oneDNN's). Acting always uses ours.
    public let kernels: Kernels
    /// Optimizer steps taken so far.
    public private(set) var updateCount = 0

    let net: QNetwork
    let online: FloatArena
    let target: FloatArena
    let gradients: FloatArena
    let moment1: FloatArena
    let moment2: FloatArena
    let train: NetworkWorkspace
    let act: NetworkWorkspace
    /// [N, A] target-network Q(s'), then [N, A] online Q(s') for Double DQN.
    let scratch: FloatArena
    /// Patch-order copies of the conv weights that read NHWC input (see Conv2D.swift), rebuilt
    /// lazily after their parameters change.
    let onlinePatch: FloatArena
    let targetPatch: FloatArena
    private var onlinePatchStale = true { didSet { if onlinePatchStale { onlinePackStale = true } } }
    private var targetPatchStale = true { didSet { if targetPatchStale { targetPackStale = true } } }
    /// With bf16: the linear layers' weights packed for the update's GEMMs (see PackedWeights.swift),
    /// online ones repacked before each update, target ones after each sync.
    let onlinePacked: PackedLinearWeights?
    let targetPacked: PackedLinearWeights?
    private var onlinePackStale = true
    private var targetPackStale = true
    /// Element-wise work runs on `lanes` threads with two or more lanes, and on two when OpenBLAS
    /// has more than one thread (results identical to one thread, except the gradient norm's
    /// partial sums, see `Optimizer.splitSumOfSquares`).
    let workerThread: WorkerThread
    private var worker: WorkerThread? { lanes >= 2 || BLAS.threads > 1 ? workerThread : nil }
    /// 1: an update runs as one piece (GEMMs threaded by OpenBLAS). N >= 2: it runs as N pieces of
    /// the batch side by side, one per thread (see `update`); at most the batch size.
    public let lanes: Int
    /// Per-lane workspaces and lanes 1..<N's gradients, one parameter buffer each (empty with one lane).
    let laneWorkspaces: [NetworkWorkspace]
    let laneGradients: FloatArena
    /// [N] weight * loss per sample, then [N] Q(s, a): summed in sample order after the lanes.
    let sampleStats: FloatArena

    /// Number of parameters P (1,686,000-odd for Nature with 6 actions).
    public var parameterCount: Int { net.parameterCount }
    /// Names, shapes and offsets of the tensors in the flat parameter buffer.
    public var tensors: [TensorSpec] { net.tensors }

    public convenience init(network: QNetworkConfig, optimizer: OptimizerConfig = .nature2015,
                            loss: LossKind = .huber, batchSize: Int = 32, doubleDQN: Bool = false,
                            gradientClipNorm: Float? = nil, lanes: Int = 1, precision: Precision = .fp32,
                            kernels: Kernels = .arena, seed: UInt64) {
        self.init(network: network, shape: .nature, optimizer: optimizer, loss: loss, batchSize: batchSize,
                  doubleDQN: doubleDQN, gradientClipNorm: gradientClipNorm, lanes: lanes, precision: precision,
                  kernels: kernels, seed: seed)
    }

    init(network: QNetworkConfig, shape: NetworkShape, optimizer: OptimizerConfig, loss: LossKind,
         batchSize: Int, doubleDQN: Bool, gradientClipNorm: Float?, lanes: Int = 1, precision: Precision = .fp32,
         kernels: Kernels = .arena, seed: UInt64) {
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        BLAS.useOneThread()
        precondition(lanes >= 1, "an update runs in at least 1 lane, got \(lanes)")
        precondition(optimizer.validationError == nil, optimizer.validationError ?? "")
        if let c = gradientClipNorm { precondition(c > 0, "gradient clip norm must be positive, got \(c)") }
        self.network = network
        self.optimizer = optimizer
        self.loss = loss
        self.batchSize = batchSize
        self.doubleDQN = doubleDQN
        self.gradientClipNorm = gradientClipNorm
        precondition(precision.isSupported, precision.unsupportedReason ?? "")
        self.precision = precision
        precondition(kernels.unsupportedReason == nil, kernels.unsupportedReason ?? "")
        self.kernels = kernels
        net = QNetwork(config: network, shape: shape)
        online = FloatArena(count: net.parameterCount)
        target = FloatArena(count: net.parameterCount)
        gradients = FloatArena(count: net.parameterCount)
        moment1 = FloatArena(count: net.parameterCount)
        moment2 = FloatArena(count: net.parameterCount)
        let lanes = min(lanes, batchSize)
        self.lanes = lanes
        // With oneDNN, the workspaces that run updates get handles (one per lane: a handle is used
        // by one thread), their primitives built now for the batch sizes each lane will see.
        let net = self.net
        func handles(pieces: [Int]) -> OneDNNConvolutions? {
            guard kernels == .onednn else { return nil }
            do {
                let dnn = try OneDNNConvolutions(network: net, precision: precision, withGradients: true)
                for m in Set(pieces.filter { $0 > 0 }.flatMap { doubleDQN ? [$0, 2 * $0] : [$0] }) { try dnn.prepare(batch: m) }
                return dnn
            } catch { preconditionFailure("kernels 'onednn': \(error)") }
        }
        // Double DQN runs the online network over s and s' as one batch of 2N.
        train = NetworkWorkspace(network: net, capacity: doubleDQN ? 2 * batchSize : batchSize, withGradients: true,
                                 oneDNN: lanes == 1 ? handles(pieces: [batchSize]) : nil)
        act = NetworkWorkspace(network: net, capacity: 1, withGradients: false)
        workerThread = WorkerThread(parts: max(lanes, 2))
        let laneCapacity = (batchSize + lanes - 1) / lanes * (doubleDQN ? 2 : 1)
        laneWorkspaces = lanes >= 2
            ? (0..<lanes).map { part in
                NetworkWorkspace(network: net, capacity: laneCapacity, withGradients: true,
                                 oneDNN: handles(pieces: [piece(part, of: batchSize, parts: lanes).count]))
            } : []
        laneGradients = FloatArena(count: lanes >= 2 ? (lanes - 1) * net.parameterCount : 0)
        sampleStats = FloatArena(count: 2 * batchSize)
        scratch = FloatArena(count: 2 * batchSize * network.actions)
        onlinePatch = FloatArena(count: net.patchWeightCount)
        targetPatch = FloatArena(count: net.patchWeightCount)
        onlinePacked = precision == .bf16 ? PackedLinearWeights(linears: net.linears, withInputGradients: true) : nil
        targetPacked = precision == .bf16 ? PackedLinearWeights(linears: net.linears, withInputGradients: false) : nil
        var generator = SeededGenerator(seed: seed, stream: "qnetwork-init")
        online.withBase { net.initialize($0, generator: &generator) }
        target.assign(from: online)
    }

    /// Runs `body` with the online parameters and their patch weights (rebuilt if stale).
    @inline(__always)
    private func withOnline<R>(_ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        online.withBase { p in
            onlinePatch.withBase { pw in
                if onlinePatchStale {
                    timed(profile, "conv2-3 weights to patch order (copy)") { net.preparePatchWeights(parameters: p, into: pw) }
                    onlinePatchStale = false
                }
                return body(p, pw)
            }
        }
    }

    @inline(__always)
    private func withTarget<R>(_ body: (UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> R) -> R {
        target.withBase { p in
            targetPatch.withBase { pw in
                if targetPatchStale {
                    timed(profile, "conv2-3 weights to patch order (copy)") { net.preparePatchWeights(parameters: p, into: pw) }
                    targetPatchStale = false
                }
                return body(p, pw)
            }
        }
    }

    // MARK: Acting

    /// Q-values of the online network for ONE observation [4, 84, 84] uint8; writes `actions`
    /// floats into `q`. Allocation-free.
    public func qValues(observation: UnsafePointer<UInt8>, into q: UnsafeMutablePointer<Float>) {
        let a = network.actions
        withOnline { p, pw in
            act.arena.withBase { ws in
                net.forward(parameters: p, patchWeights: pw, observations: observation, batch: 1, workspace: act, base: ws, worker: worker)
                // safe because: the caller provides `actions` floats; the workspace holds them at q.
                q.update(from: ws + act.q, count: a)
            }
        }
    }

    /// Q-values for `count` observations [count, 4, 84, 84]; writes count * actions floats.
    /// Runs in chunks of the batch size through the training workspace.
    public func qValues(observations: UnsafePointer<UInt8>, count: Int, into q: UnsafeMutablePointer<Float>) {
        let a = network.actions, bytes = net.observationBytes
        withOnline { p, pw in
            train.arena.withBase { ws in
                var start = 0
                while start < count {
                    let n = min(train.capacity, count - start)
                    net.forward(parameters: p, patchWeights: pw, observations: observations + start * bytes, batch: n,
                                workspace: train, base: ws, worker: worker)
                    (q + start * a).update(from: ws + train.q, count: n * a)
                    start += n
                }
            }
        }
    }

    /// The greedy action for one observation (ties go to the lowest index). Allocation-free.
    public func greedyAction(observation: UnsafePointer<UInt8>) -> Int {
        let a = network.actions
        return withOnline { p, pw in
            act.arena.withBase { ws in
                net.forward(parameters: p, patchWeights: pw, observations: observation, batch: 1, workspace: act, base: ws, worker: worker)
                return argmax(ws + act.q, count: a)
            }
        }
    }

    // MARK: Learning

    /// A batch buffer of the right size for `update`.
    public func makeBatch() -> TrainingBatch {
        TrainingBatch(batchSize: batchSize, observationBytes: net.observationBytes)
    }

    /// One DQN update: y = r + discount * Q_target(s', a*), a* = argmax_a Q_target(s', a) or, with
    /// Double DQN, argmax_a Q_online(s', a); loss = mean_i weight_i * loss(Q(s_i, a_i) - y_i);
    /// gradients are zeroed, back-propagated, optionally clipped, and one optimizer step is taken.
    /// Writes |Q(s, a) - y| into `batch.tdErrors`. Allocation-free.
    ///
    /// With N >= 2 lanes the batch is split in N pieces that run side by side, each on one thread
    /// with single-threaded GEMMs (OpenBLAS runs single-threaded, see `BLAS.useOneThread`):
    /// forward, TD errors and backward of a piece need nothing from the others, so the cores meet
    /// only twice per update instead of at every GEMM. The pieces' gradients are summed in lane
    /// order, so the result is deterministic for a given lane count, but not bit-identical across
    /// lane counts.
    @discardableResult
    public func update(_ batch: TrainingBatch) -> UpdateStats { pass(batch, learn: true) }

    /// What `update` would measure on `batch` (loss, mean Q(s, a), the gradient's L2 norm
    /// before clipping, |Q(s, a) - y| into `batch.tdErrors`) without learning from it: the
    /// parameters, the optimizer and its step count are untouched. For diagnostics.
    public func measure(_ batch: TrainingBatch) -> UpdateStats { pass(batch, learn: false) }

    /// One `update`, with the wall time and FLOPs of every pass added to `profile` (see
    /// `PassProfile`; `arena bench agent --layers`). One-lane learners only: two lanes would
    /// time their passes on two threads at once.
    @discardableResult
    public func profiledUpdate(_ batch: TrainingBatch, into profile: PassProfile) -> UpdateStats {
        precondition(lanes == 1, "profiledUpdate times one lane; this learner has \(lanes)")
        self.profile = profile
        defer { self.profile = nil }
        return pass(batch, learn: true)
    }

    /// Set only inside `profiledUpdate`.
    private var profile: PassProfile?

    private func pass(_ batch: TrainingBatch, learn: Bool) -> UpdateStats {
        precondition(batch.batchSize == batchSize,
                     "the batch holds \(batch.batchSize) samples, the learner was built for \(batchSize)")
        precondition(batch.observationBytes == net.observationBytes,
                     "the batch holds \(batch.observationBytes)-byte observations, the network takes \(net.observationBytes)")
        batch.checkShapes()
        let n = batchSize
        var stats = UpdateStats(loss: 0, qMean: 0, gradientNorm: nil)
        var sumOfSquares = 0.0
        let worker = self.worker
        let count = net.parameterCount
        withOnline { p, pw in
        withTarget { tp, tpw in
        if let packed = onlinePacked, onlinePackStale {
            timed(profile, "fc weights packed for bf16 (online, once per update)") { packed.pack(parameters: p, worker: worker) }
            onlinePackStale = false
        }
        if let packed = targetPacked, targetPackStale {
            timed(profile, "fc weights packed for bf16 (target, once per sync)") { packed.pack(parameters: tp, worker: worker) }
            targetPackStale = false
        }
        gradients.withBase { g in
        scratch.withBase { s in
        sampleStats.withBase { perSample in
        batch.nextObservations.withUnsafeBufferPointer { next in
        batch.observations.withUnsafeBufferPointer { obs in
        batch.actions.withUnsafeBufferPointer { actions in
        batch.rewards.withUnsafeBufferPointer { rewards in
        batch.discounts.withUnsafeBufferPointer { discounts in
        batch.weights.withUnsafeBufferPointer { weights in
        batch.tdErrors.withUnsafeMutableBufferPointer { td in
            let inputs = LaneInputs(parameters: p, patchWeights: pw, targetParameters: tp, targetPatchWeights: tpw,
                                    observations: obs.base, nextObservations: next.base, actions: actions.base,
                                    rewards: rewards.base, discounts: discounts.base, weights: weights.base,
                                    tdErrors: td.baseAddress!, scratch: s, perSample: perSample)
            // The sum of squares of the gradients, when clipping needs it.
            let squares = learn && gradientClipNorm != nil
            if lanes == 1 {
                runLane(samples: 0..<n, workspace: train, gradients: g, inputs: inputs, worker: worker)
                if squares {
                    timed(profile, "gradient norm", flops: 2 * Double(count)) {
                        sumOfSquares = Optimizer.sumOfSquares(g, count: count)
                    }
                }
            } else {
                let lanes = self.lanes
                laneGradients.withBase { rest in
                    workerThread.run { part in
                        runLane(samples: piece(part, of: n, parts: lanes), workspace: laneWorkspaces[part],
                                gradients: part == 0 ? g : rest + (part - 1) * count, inputs: inputs, worker: nil)
                    }
                    // Lanes 1, 2, ... join lane 0's gradients in that order (element-wise: the
                    // same result on any split of the parameter range), in the same pass as the
                    // pieces' sums of squares (added in piece order: deterministic per lane count).
                    if squares {
                        sumOfSquares = Optimizer.splitSumOfSquares(g, rest: rest, extraLanes: lanes - 1, count: count,
                                                                   worker: worker)
                    } else {
                        splitWork(worker, count: count, align: 16) { r in
                            _ = Optimizer.sumLanes(g + r.lowerBound, rest: rest + r.lowerBound, stride: count,
                                                   extraLanes: lanes - 1, count: r.count, squares: false)
                        }
                    }
                }
            }
            // Loss and mean Q summed in sample order whatever the lanes.
            var lossSum: Float = 0, qSum: Float = 0
            for i in 0..<n { lossSum += perSample[i]; qSum += perSample[n + i] }
            stats.loss = lossSum / Float(n)
            stats.qMean = qSum / Float(n)
        }}}}}}}
            guard learn else {
                stats.gradientNorm = Optimizer.globalNorm(g, count: count)
                return
            }
            // Clip (PyTorch's clip_grad_norm_, its scale folded into the step's pass), step.
            var scale: Float = 1
            if let maxNorm = gradientClipNorm {
                let norm = Float(sumOfSquares.squareRoot())
                stats.gradientNorm = norm
                scale = Optimizer.clipScale(norm: norm, maxNorm: maxNorm)
            }
            updateCount += 1
            timed(profile, "optimizer step (with clipping)") {
                moment1.withBase { m1 in
                    moment2.withBase { m2 in
                        splitWork(worker, count: count, align: 16) { r in
                            let o = r.lowerBound
                            Optimizer.step(optimizer, step: updateCount, parameters: p + o, gradients: g + o,
                                           moment1: m1 + o, moment2: m2 + o, count: r.count, gradientScale: scale)
                        }
                    }
                }
            }
        }}}}}
        if learn { onlinePatchStale = true }
        return stats
    }

    /// Per tensor of `tensors`, how far Adam's step is from fully normalized: the mean over its
    /// parameters of sqrt(v_hat) / (sqrt(v_hat) + epsilon) (1: every parameter steps by about
    /// the learning rate; near 0: epsilon dominates and Adam is momentum SGD with a learning
    /// rate shrunk by sqrt(v_hat) / epsilon), and the share of parameters whose sqrt(v_hat) is
    /// below epsilon. Nil for RMSProp or before the first update.
    public func adamStepScales() -> [(tensor: String, normalized: Double, belowEpsilon: Double)]? {
        guard case let .adam(_, _, beta2, epsilon) = optimizer, updateCount > 0 else { return nil }
        let correction = 1 - Foundation.pow(Double(beta2), Double(updateCount))
        return moment2.withBase { v in
            net.tensors.map { t in
                var normalized = 0.0, below = 0
                for i in t.offset..<(t.offset + t.count) {
                    // safe because: tensor ranges lie inside the parameter buffer.
                    let root = (Double(v[i]) / correction).squareRoot()
                    normalized += root / (root + Double(epsilon))
                    if root < Double(epsilon) { below += 1 }
                }
                return (t.name, normalized / Double(max(t.count, 1)), Double(below) / Double(max(t.count, 1)))
            }
        }
    }

    /// Pointers one update shares between its lanes; each lane touches only its samples' rows.
    private struct LaneInputs {
        let parameters: UnsafeMutablePointer<Float>, patchWeights: UnsafePointer<Float>
        let targetParameters: UnsafeMutablePointer<Float>, targetPatchWeights: UnsafePointer<Float>
        let observations: UnsafePointer<UInt8>, nextObservations: UnsafePointer<UInt8>
        let actions: UnsafePointer<Int32>, rewards: UnsafePointer<Float>, discounts: UnsafePointer<Float>
        let weights: UnsafePointer<Float>, tdErrors: UnsafeMutablePointer<Float>
        /// [N, A] target Q(s'), then [N, A] online Q(s') (Double DQN).
        let scratch: UnsafeMutablePointer<Float>
        /// [N] weight * loss, then [N] Q(s, a).
        let perSample: UnsafeMutablePointer<Float>
    }

    /// Forward, TD errors and backward for `samples` of the batch, with `workspace` (rows local to
    /// the lane); every parameter gradient is written into `g`.
    private func runLane(samples: Range<Int>, workspace w: NetworkWorkspace, gradients g: UnsafeMutablePointer<Float>,
                         inputs x: LaneInputs, worker: WorkerThread?) {
        let n = batchSize, a = network.actions, m = samples.count, lo = samples.lowerBound
        guard m > 0 else { return }
        let bytes = net.observationBytes
        let obs = x.observations + lo * bytes, next = x.nextObservations + lo * bytes
        w.arena.withBase { ws in
            // 1. Target-network values of s'; 2. online forward on s (activations kept for
            // backward), and with Double DQN on s' too, in the same pass (rows m..<2m).
            let profile = self.profile
            net.forward(parameters: x.targetParameters, patchWeights: x.targetPatchWeights, observations: next, batch: m,
                        workspace: w, base: ws, worker: worker, profile: profile, precision: precision, packed: targetPacked,
                        kernels: kernels)
            (x.scratch + lo * a).update(from: ws + w.q, count: m * a)
            net.forward(parameters: x.parameters, patchWeights: x.patchWeights, observations: obs, batch: m,
                        moreObservations: doubleDQN ? next : nil, moreCount: m, workspace: w, base: ws, worker: worker,
                        profile: profile, precision: precision, packed: onlinePacked, kernels: kernels)
            if doubleDQN { (x.scratch + n * a + lo * a).update(from: ws + w.q + m * a, count: m * a) }
            // 3. TD errors, loss and dL/dQ.
            let q = ws + w.q, dq = ws + w.dq
            timed(profile, "TD targets and loss") {
            dq.update(repeating: 0, count: m * a)
            for j in 0..<m {
                let i = lo + j
                let action = Int(x.actions[i])
                precondition(action >= 0 && action < a, "action \(action) of sample \(i) is outside 0..<\(a)")
                let targetRow = x.scratch + i * a
                let chosen = doubleDQN ? argmax(x.scratch + n * a + i * a, count: a) : argmax(targetRow, count: a)
                let y = x.rewards[i] + x.discounts[i] * targetRow[chosen]
                let qsa = q[j * a + action]
                let delta = qsa - y
                let (value, derivative) = loss.evaluate(delta)
                x.perSample[i] = x.weights[i] * value
                x.perSample[n + i] = qsa
                dq[j * a + action] = x.weights[i] * derivative / Float(n)
                x.tdErrors[i] = abs(delta)
            }
            }
            // 4. Backward, writing every parameter's gradient (no zeroing pass).
            net.backward(parameters: x.parameters, patchWeights: x.patchWeights, gradients: g, observations: obs, batch: m,
                         workspace: w, base: ws, worker: worker, profile: profile, precision: precision, accumulate: false,
                         packed: onlinePacked, kernels: kernels)
        }
    }

    /// Copies the online parameters into the target network (one copy of the flat buffer).
    public func syncTarget() {
        target.assign(from: online)
        targetPatchStale = true
    }

    // MARK: State

    /// The online network's flat parameters, in `tensors` layout. Setting also leaves the target alone.
    public var parameters: [Float] {
        get { online.toArray() }
        set { online.assign(newValue); onlinePatchStale = true }
    }

    /// The target network's flat parameters.
    public var targetParameters: [Float] {
        get { target.toArray() }
        set { target.assign(newValue); targetPatchStale = true }
    }

    /// The flat gradients of the last update (after clipping).
    public var lastGradients: [Float] { gradients.toArray() }

    /// Everything needed to resume training exactly.
    public func exportState() -> LearnerState {
        LearnerState(network: network, optimizer: optimizer, parameters: online.toArray(),
                     targetParameters: target.toArray(), moment1: moment1.toArray(),
                     moment2: moment2.toArray(), updateCount: updateCount)
    }

    /// Restores a state exported by a learner of the same network and optimizer.
    public func restoreState(_ state: LearnerState) throws {
        guard state.network == network else {
            throw LearnerStateError("The saved learner has \(state.network.actions) actions (dueling: \(state.network.dueling)) but this one has \(network.actions) (dueling: \(network.dueling)); resume with the same agent configuration.")
        }
        guard state.optimizer == optimizer else {
            throw LearnerStateError("The saved learner used optimizer \(state.optimizer) but this one uses \(optimizer); resume with the same agent configuration.")
        }
        let p = net.parameterCount
        for (name, values) in [("parameters", state.parameters), ("target parameters", state.targetParameters),
                               ("first moments", state.moment1), ("second moments", state.moment2)]
        where values.count != p {
            throw LearnerStateError("The saved learner's \(name) hold \(values.count) floats, expected \(p); the checkpoint is damaged.")
        }
        guard state.updateCount >= 0 else {
            throw LearnerStateError("The saved learner's update count is negative (\(state.updateCount)); the checkpoint is damaged.")
        }
        online.assign(state.parameters)
        target.assign(state.targetParameters)
        moment1.assign(state.moment1)
        moment2.assign(state.moment2)
        updateCount = state.updateCount
        onlinePatchStale = true
        targetPatchStale = true
    }

    /// Loads weights (e.g. from `arena weights init` or PyTorch) into both online and target networks.
    public func loadWeights(from url: URL) throws {
        let (config, values) = try WeightsFile.load(from: url)
        guard config == network else {
            throw WeightsFileError(path: url.path, problem: "it holds a network with \(config.actions) actions (dueling: \(config.dueling)) but this agent needs \(network.actions) actions (dueling: \(network.dueling))", advice: "Use weights made for this game and head.")
        }
        online.assign(values)
        target.assign(values)
        onlinePatchStale = true
        targetPatchStale = true
    }

    /// Saves the online network's weights as safetensors (PyTorch names and layouts), atomically.
    public func saveWeights(to url: URL) throws {
        try WeightsFile.save(network: network, parameters: online.toArray(), to: url)
    }
}

/// A learner state that cannot be restored, with a sentence saying why.
public struct LearnerStateError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

@inline(__always)
func argmax(_ x: UnsafePointer<Float>, count: Int) -> Int {
    var best = 0
    var bestValue = x[0]
    for i in 1..<max(count, 1) where x[i] > bestValue { best = i; bestValue = x[i] }
    return best
}

extension UnsafeBufferPointer {
    /// The base address of a buffer known to be non-empty.
    var base: UnsafePointer<Element> {
        guard let b = baseAddress else { preconditionFailure("expected a non-empty buffer") }
        return b
    }
}
