// The Q-network: the Nature DQN CNN (Mnih et al. 2015), optionally with a dueling head
// (Wang et al. 2016), over one flat parameter buffer.
//
// Dimension legend (N batch, A actions)
//   input  uint8 [N, 4, 84, 84] (NCHW, as stacked by the environment), scaled by 1/255
//   conv1  32 8x8 stride 4 + ReLU  -> [N, 20, 20, 32]  (NHWC internally, see Conv2D.swift)
//   conv2  64 4x4 stride 2 + ReLU  -> [N, 9, 9, 64]
//   conv3  64 3x3 stride 1 + ReLU  -> [N, 7, 7, 64]
//   flatten (PyTorch order c*49 + y*7 + x) -> [N, 3136]
//   plain:   fc1 3136 -> 512 + ReLU, fc2 512 -> A                         -> q [N, A]
//   dueling: fc1_value 3136 -> 512 + ReLU, value 512 -> 1
//            fc1_advantage 3136 -> 512 + ReLU, advantage 512 -> A
//            q = value + advantage - mean(advantage)                      -> q [N, A]
//
// Parameter names, shapes and order in the flat buffer (and in safetensors files), PyTorch's:
//   conv1.weight [32,4,8,8]  conv1.bias [32]  conv2.weight [64,32,4,4]  conv2.bias [64]
//   conv3.weight [64,64,3,3] conv3.bias [64]
//   plain:   fc1.weight [512,3136] fc1.bias [512] fc2.weight [A,512] fc2.bias [A]
//   dueling: fc1_value.weight [512,3136] fc1_value.bias [512]
//            fc1_advantage.weight [512,3136] fc1_advantage.bias [512]
//            value.weight [1,512] value.bias [1] advantage.weight [A,512] advantage.bias [A]

import ArenaSupport

/// What the Q-network is: how many actions, and whether it has a dueling head.
public struct QNetworkConfig: Codable, Equatable, Sendable {
    /// Number of actions (outputs). ALE's minimal action sets have 3 to 18.
    public var actions: Int
    /// Dueling head (Wang et al. 2016): separate value and advantage streams.
    public var dueling: Bool

    public init(actions: Int, dueling: Bool = false) {
        self.actions = actions; self.dueling = dueling
    }

    /// Nil when valid, else a sentence naming the bad value.
    public var validationError: String? {
        (1...256).contains(actions) ? nil : "The Q-network needs between 1 and 256 actions, got \(actions)."
    }
}

/// The input and hidden sizes of the network. `nature` is the only one users get; tests use
/// smaller shapes so finite-difference checks stay fast and meaningful.
struct NetworkShape: Sendable, Equatable {
    struct ConvSpec: Sendable, Equatable { var outChannels: Int; var kernel: Int; var stride: Int }
    var inputChannels: Int
    var inputHeight: Int
    var inputWidth: Int
    var convs: [ConvSpec]
    var hidden: Int

    static let nature = NetworkShape(
        inputChannels: 4, inputHeight: 84, inputWidth: 84,
        convs: [ConvSpec(outChannels: 32, kernel: 8, stride: 4),
                ConvSpec(outChannels: 64, kernel: 4, stride: 2),
                ConvSpec(outChannels: 64, kernel: 3, stride: 1)],
        hidden: 512)
}

/// One named tensor of the flat parameter buffer.
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// PyTorch's default fan-in for this tensor's layer (kaiming_uniform(a=sqrt(5)) and bias init
    /// both give U(-1/sqrt(fanIn), 1/sqrt(fanIn))).
    public let fanIn: Int
}

/// The layers of the Q-network and the layout of its flat parameter buffer. A value type:
/// shapes and offsets only; the floats live in the learner's arenas.
struct QNetwork: Sendable, Equatable {
    let config: QNetworkConfig
    let shape: NetworkShape
    let convs: [Conv2D]
    /// Plain head: [fc1, fc2]. Dueling head: [fc1_value, fc1_advantage, value, advantage].
    let linears: [Linear]
    let tensors: [TensorSpec]
    let parameterCount: Int
    /// Features after flattening the last conv: 3136 for Nature.
    let flatFeatures: Int

    /// Bytes of one observation.
    var observationBytes: Int { shape.inputChannels * shape.inputHeight * shape.inputWidth }

    init(config: QNetworkConfig, shape: NetworkShape = .nature) {
        precondition(config.actions >= 1, "a Q-network needs at least 1 action, got \(config.actions)")
        precondition(shape.convs.count == 3, "the DQN network has 3 conv layers, got \(shape.convs.count)")
        self.config = config
        self.shape = shape
        var offset = 0
        var tensors: [TensorSpec] = []
        var convs: [Conv2D] = []
        var (c, h, w) = (shape.inputChannels, shape.inputHeight, shape.inputWidth)
        for (i, spec) in shape.convs.enumerated() {
            let conv = Conv2D(inChannels: c, outChannels: spec.outChannels, kernel: spec.kernel,
                              stride: spec.stride, inHeight: h, inWidth: w, weightOffset: offset)
            let fan = conv.patchRows
            tensors.append(TensorSpec(name: "conv\(i + 1).weight", shape: [conv.outChannels, c, spec.kernel, spec.kernel],
                                      offset: offset, fanIn: fan))
            tensors.append(TensorSpec(name: "conv\(i + 1).bias", shape: [conv.outChannels], offset: conv.biasOffset, fanIn: fan))
            offset += conv.parameterCount
            convs.append(conv)
            (c, h, w) = (conv.outChannels, conv.outHeight, conv.outWidth)
        }
        let flat = c * h * w
        var linears: [Linear] = []
        func addLinear(_ name: String, _ inF: Int, _ outF: Int) {
            let l = Linear(inFeatures: inF, outFeatures: outF, weightOffset: offset)
            tensors.append(TensorSpec(name: "\(name).weight", shape: [outF, inF], offset: offset, fanIn: inF))
            tensors.append(TensorSpec(name: "\(name).bias", shape: [outF], offset: l.biasOffset, fanIn: inF))
            offset += l.parameterCount
            linears.append(l)
        }
        if config.dueling {
            addLinear("fc1_value", flat, shape.hidden)
            addLinear("fc1_advantage", flat, shape.hidden)
            addLinear("value", shape.hidden, 1)
            addLinear("advantage", shape.hidden, config.actions)
        } else {
            addLinear("fc1", flat, shape.hidden)
            addLinear("fc2", shape.hidden, config.actions)
        }
        self.convs = convs
        self.linears = linears
        self.tensors = tensors
        self.parameterCount = offset
        self.flatFeatures = flat
    }

    /// PyTorch's default initialization for Conv2d and Linear: weights and biases
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), tensor by tensor in `tensors` order.
    func initialize(_ parameters: UnsafeMutablePointer<Float>, generator: inout SeededGenerator) {
        for t in tensors {
            let bound = 1 / Float(t.fanIn).squareRoot()
            for i in 0..<t.count {
                // safe because: offset + count <= parameterCount for every tensor.
                parameters[t.offset + i] = (2 * generator.nextUnitFloat() - 1) * bound
            }
        }
    }
}

/// Offsets of every activation and gradient buffer for one batch capacity, inside one arena.
struct NetworkWorkspace {
    let network: QNetwork
    let capacity: Int
    let arena: FloatArena
    /// Per conv: patch matrix (reused as dCol in backward), post-ReLU output, output gradient.
    let col: [Int], act: [Int], dAct: [Int]
    /// Gradient of a conv weight in patch order, before it is scattered back to OIHW.
    let dPatchWeights: Int
    /// [N, flat] and its gradient.
    let flat: Int, dFlat: Int
    /// Hidden activations [N, hidden] (plain: 1; dueling: value stream, advantage stream).
    let hidden: [Int], dHidden: [Int]
    /// q [N, A], dq [N, A]; dueling: value [N], advantage [N, A] and their gradients.
    let q: Int, dq: Int, value: Int, advantage: Int, dValue: Int, dAdvantage: Int
    /// For passes with the `onednn` kernels: the convolutions' oneDNN handles.
    let oneDNN: OneDNNConvolutions?

    init(network: QNetwork, capacity: Int, withGradients: Bool, oneDNN: OneDNNConvolutions? = nil) {
        precondition(capacity >= 1, "workspace capacity must be at least 1, got \(capacity)")
        self.network = network
        self.capacity = capacity
        self.oneDNN = oneDNN
        var total = 0
        func take(_ n: Int) -> Int { defer { total += (n + 15) / 16 * 16 }; return total }  // 64-byte aligned
        func takeGrad(_ n: Int) -> Int { withGradients ? take(n) : -1 }
        // conv1's patch matrix is built and consumed a few samples at a time (it stays in L2);
        // the others are kept whole for the backward pass. (oneDNN needs none, but a workspace
        // with oneDNN handles also serves passes with our kernels.)
        col = network.convs.enumerated().map { i, conv in
            take(conv.colCount(batch: i == 0 ? min(capacity, QNetwork.conv1ChunkSamples) : capacity))
        }
        act = network.convs.map { take($0.outputCount(batch: capacity)) }
        dAct = network.convs.map { takeGrad($0.outputCount(batch: capacity)) }
        dPatchWeights = takeGrad(network.convs.map(\.weightCount).max() ?? 0)
        flat = take(capacity * network.flatFeatures)
        dFlat = takeGrad(capacity * network.flatFeatures)
        let streams = network.config.dueling ? 2 : 1
        hidden = (0..<streams).map { _ in take(capacity * network.shape.hidden) }
        dHidden = (0..<streams).map { _ in takeGrad(capacity * network.shape.hidden) }
        let a = network.config.actions
        q = take(capacity * a)
        dq = takeGrad(capacity * a)
        value = take(capacity)
        advantage = take(capacity * a)
        dValue = takeGrad(capacity)
        dAdvantage = takeGrad(capacity * a)
        arena = FloatArena(count: total)
    }
}

extension QNetwork {
    /// Samples per conv1 patch-matrix chunk: 4 x 400 x 256 floats = 1.6 MB (L2 is 1 MB per core,
    /// L3 32 MB); measured: 2 and 8 are no faster, the whole batch (13 MB) is twice as slow.
    static let conv1ChunkSamples = 4

    /// Floats of the patch-order copy of the conv weights that read NHWC input (conv2, conv3).
    var patchWeightCount: Int { convs.dropFirst().map(\.weightCount).reduce(0, +) }

    private func patchWeightOffset(_ i: Int) -> Int { convs[1..<i].map(\.weightCount).reduce(0, +) }

    /// Fills `pw` (patchWeightCount floats) from the parameters; call after the parameters change.
    func preparePatchWeights(parameters p: UnsafePointer<Float>, into pw: UnsafeMutablePointer<Float>) {
        for i in 1..<convs.count { convs[i].permuteWeights(parameters: p, into: pw + patchWeightOffset(i)) }
    }

    /// Conv i's weight in its patch order: OIHW itself for conv1, the prepared copy otherwise.
    private func patchWeights(_ i: Int, _ p: UnsafePointer<Float>, _ pw: UnsafePointer<Float>) -> UnsafePointer<Float> {
        i == 0 ? p + convs[0].weightOffset : pw + patchWeightOffset(i)
    }

    /// Forward pass for `batch` observations; the Q-values end at `ws + workspace.q` ([N, A]).
    /// Every activation stays in the workspace for `backward`. `pw` holds the patch weights
    /// prepared from the same parameters (`preparePatchWeights`).
    ///
    /// With `moreObservations`, samples `batch ..< batch + moreCount` come from there (one forward
    /// pass over s and s' for Double DQN); the first `batch` rows of every buffer are those of
    /// `observations`, so `backward(batch:)` can follow.
    func forward(parameters p: UnsafePointer<Float>, patchWeights pw: UnsafePointer<Float>,
                 observations: UnsafePointer<UInt8>, batch firstCount: Int,
                 moreObservations: UnsafePointer<UInt8>? = nil, moreCount: Int = 0,
                 workspace w: NetworkWorkspace, base ws: UnsafeMutablePointer<Float>, worker: WorkerThread? = nil,
                 profile: PassProfile? = nil, precision: Precision = .fp32, packed: PackedLinearWeights? = nil,
                 kernels: Kernels = .arena) {
        let batch = firstCount + (moreObservations == nil ? 0 : moreCount)
        precondition(firstCount >= 1 && batch <= w.capacity,
                     "batch must be in 1...\(w.capacity) (the workspace capacity), got \(batch)")
        if kernels == .onednn {
            guard let dnn = w.oneDNN else { preconditionFailure("the onednn kernels need a workspace with oneDNN handles") }
            let c1 = convs[0]
            timed(profile, "conv1 forward (oneDNN, frames widened)", flops: c1.gemmFlops(batch: batch)) {
                dnn.forwardFrames(observations, batch: firstCount, more: moreObservations, moreCount: moreCount, parameters: p,
                                  output: ws + w.act[0])
            }
            for i in 1..<convs.count {
                timed(profile, "conv\(i + 1) forward (oneDNN)", flops: convs[i].gemmFlops(batch: batch)) {
                    dnn.forward(i, input: ws + w.act[i - 1], batch: batch, parameters: p, output: ws + w.act[i])
                }
            }
        } else {
            convForward(parameters: p, patchWeights: pw, observations: observations, batch: firstCount,
                        moreObservations: moreObservations, moreCount: moreCount, workspace: w, base: ws, worker: worker,
                        profile: profile, precision: precision)
        }
        headForward(parameters: p, batch: batch, workspace: w, base: ws, profile: profile, precision: precision, packed: packed)
    }

    /// The convolutions of `forward` with our kernels: patch matrices and GEMMs.
    private func convForward(parameters p: UnsafePointer<Float>, patchWeights pw: UnsafePointer<Float>,
                             observations: UnsafePointer<UInt8>, batch firstCount: Int,
                             moreObservations: UnsafePointer<UInt8>?, moreCount: Int,
                             workspace w: NetworkWorkspace, base ws: UnsafeMutablePointer<Float>, worker: WorkerThread?,
                             profile: PassProfile?, precision: Precision) {
        let batch = firstCount + (moreObservations == nil ? 0 : moreCount)
        // conv1 reads the uint8 observations directly, a chunk of samples at a time; the 1/255
        // scaling rides on the GEMM's alpha.
        let c1 = convs[0]
        let rowFloats = c1.outPixels * c1.outChannels
        func conv1(_ source: UnsafePointer<UInt8>, count: Int, firstRow: Int) {
            var start = 0
            while start < count {
                let m = min(QNetwork.conv1ChunkSamples, count - start)
                timed(profile, "conv1 patches (uint8)") {
                    c1.im2colSplit(observations: source + start * observationBytes, batch: m, col: ws + w.col[0], worker: worker)
                }
                timed(profile, "conv1 forward", flops: c1.gemmFlops(batch: m)) {
                    c1.forward(col: ws + w.col[0], batch: m, weights: patchWeights(0, p, pw), bias: p + c1.biasOffset,
                               output: ws + w.act[0] + (firstRow + start) * rowFloats, inputScale: 1 / 255, relu: true,
                               precision: precision)
                }
                start += m
            }
        }
        conv1(observations, count: firstCount, firstRow: 0)
        if let more = moreObservations { conv1(more, count: moreCount, firstRow: firstCount) }
        for i in 1..<convs.count {
            timed(profile, "conv\(i + 1) patches") {
                convs[i].im2colSplit(input: ws + w.act[i - 1], batch: batch, col: ws + w.col[i], worker: worker)
            }
            timed(profile, "conv\(i + 1) forward", flops: convs[i].gemmFlops(batch: batch)) {
                convs[i].forward(col: ws + w.col[i], batch: batch, weights: patchWeights(i, p, pw),
                                 bias: p + convs[i].biasOffset, output: ws + w.act[i], relu: true, precision: precision)
            }
        }
    }

    /// From the last conv's activations to q: flatten, the fully connected layers, the dueling combine.
    private func headForward(parameters p: UnsafePointer<Float>, batch: Int, workspace w: NetworkWorkspace,
                             base ws: UnsafeMutablePointer<Float>, profile: PassProfile?, precision: Precision,
                             packed: PackedLinearWeights?) {
        let last = convs[convs.count - 1]
        timed(profile, "flatten (copy)") {
            Activations.nhwcToFlat(ws + w.act[convs.count - 1], channels: last.outChannels, batch: batch,
                                   pixels: last.outPixels, into: ws + w.flat)
        }
        func linear(_ k: Int, _ input: Int, _ output: Int, relu: Bool) {
            timed(profile, "\(linearNames[k]) forward", flops: linears[k].gemmFlops(batch: batch)) {
                linears[k].forward(input: ws + input, batch: batch, parameters: p, output: ws + output, relu: relu,
                                   precision: precision, packed: packed?.forward(k))
            }
        }
        if config.dueling {
            for s in 0..<2 { linear(s, w.flat, w.hidden[s], relu: true) }
            linear(2, w.hidden[0], w.value, relu: false)
            linear(3, w.hidden[1], w.advantage, relu: false)
            timed(profile, "dueling combine") {
                Activations.duelingForward(value: ws + w.value, advantage: ws + w.advantage, batch: batch,
                                           actions: config.actions, q: ws + w.q)
            }
        } else {
            linear(0, w.flat, w.hidden[0], relu: true)
            linear(1, w.hidden[0], w.q, relu: false)
        }
    }

    /// The layer names of `linears`, in order (PyTorch's module names without `.weight`).
    var linearNames: [String] { config.dueling ? ["fc1_value", "fc1_advantage", "value", "advantage"] : ["fc1", "fc2"] }

    /// Backward pass from dq (at `ws + workspace.dq`, [N, A]) after `forward` on the same
    /// observations:
    /// ACCUMULATES parameter gradients into `g`, or with `accumulate: false` writes every one of
    /// them (the same values as zeroing `g` first). conv1's input gradient is never computed.
    func backward(parameters p: UnsafePointer<Float>, patchWeights pw: UnsafePointer<Float>,
                  gradients g: UnsafeMutablePointer<Float>, observations: UnsafePointer<UInt8>, batch: Int,
                  workspace w: NetworkWorkspace, base ws: UnsafeMutablePointer<Float>, worker: WorkerThread? = nil,
                  profile: PassProfile? = nil, precision: Precision = .fp32, accumulate: Bool = true,
                  packed: PackedLinearWeights? = nil, kernels: Kernels = .arena) {
        precondition(w.dq >= 0, "backward needs a workspace built with gradients")
        precondition(kernels == .arena || w.oneDNN != nil, "the onednn kernels need a workspace with oneDNN handles")
        // (linearBack's own `accumulate` is about the input gradient.)
        let accumulateParameters = accumulate
        let hiddenCount = batch * shape.hidden
        func linearBack(_ k: Int, input: Int, dOutput: Int, dInput: Int, accumulate: Bool) {
            let flops = linears[k].gemmFlops(batch: batch)
            timed(profile, "\(linearNames[k]) weight gradient", flops: flops) {
                linears[k].backwardParameters(input: ws + input, dOutput: ws + dOutput, batch: batch, gradients: g,
                                              accumulate: accumulateParameters, precision: precision)
            }
            timed(profile, "\(linearNames[k]) input gradient", flops: flops) {
                linears[k].backwardInput(dOutput: ws + dOutput, batch: batch, parameters: p, dInput: ws + dInput, accumulate: accumulate,
                                         precision: precision, packed: packed?.inputGradient(k))
            }
        }
        func reluBack(_ name: @autoclosure () -> String, output: Int, gradient: Int, count: Int) {
            timed(profile, name()) { Activations.reluBackward(output: ws + output, gradient: ws + gradient, count: count) }
        }
        if config.dueling {
            timed(profile, "dueling combine backward") {
                Activations.duelingBackward(dq: ws + w.dq, batch: batch, actions: config.actions,
                                            dValue: ws + w.dValue, dAdvantage: ws + w.dAdvantage)
            }
            linearBack(2, input: w.hidden[0], dOutput: w.dValue, dInput: w.dHidden[0], accumulate: false)
            linearBack(3, input: w.hidden[1], dOutput: w.dAdvantage, dInput: w.dHidden[1], accumulate: false)
            for s in 0..<2 {
                reluBack("\(linearNames[s]) relu backward", output: w.hidden[s], gradient: w.dHidden[s], count: hiddenCount)
                linearBack(s, input: w.flat, dOutput: w.dHidden[s], dInput: w.dFlat, accumulate: s == 1)
            }
        } else {
            linearBack(1, input: w.hidden[0], dOutput: w.dq, dInput: w.dHidden[0], accumulate: false)
            reluBack("fc1 relu backward", output: w.hidden[0], gradient: w.dHidden[0], count: hiddenCount)
            linearBack(0, input: w.flat, dOutput: w.dHidden[0], dInput: w.dFlat, accumulate: false)
        }
        let lastIndex = convs.count - 1
        let last = convs[lastIndex]
        timed(profile, "unflatten (copy)") {
            Activations.flatToNHWC(ws + w.dFlat, channels: last.outChannels, batch: batch, pixels: last.outPixels,
                                   into: ws + w.dAct[lastIndex])
        }
        for i in stride(from: lastIndex, through: 0, by: -1) {
            let conv = convs[i]
            reluBack("conv\(i + 1) relu backward", output: w.act[i], gradient: w.dAct[i], count: conv.outputCount(batch: batch))
            if kernels == .onednn, let dnn = w.oneDNN {
                timed(profile, "conv\(i + 1) weight gradient (oneDNN)", flops: conv.gemmFlops(batch: batch)) {
                    dnn.weightGradient(i, input: i == 0 ? UnsafeRawPointer(observations) : UnsafeRawPointer(ws + w.act[i - 1]),
                                       batch: batch, dOutput: ws + w.dAct[i], gradients: g, accumulate: accumulate)
                }
                if i > 0 {
                    timed(profile, "conv\(i + 1) input gradient (oneDNN)", flops: conv.gemmFlops(batch: batch)) {
                        dnn.inputGradient(i, batch: batch, dOutput: ws + w.dAct[i], parameters: p, dInput: ws + w.dAct[i - 1])
                    }
                }
            } else if i == 0 {
                // conv1's patch order is OIHW: accumulate straight into the gradient buffer,
                // rebuilding its patch matrix chunk by chunk from the observations.
                var start = 0
                while start < batch {
                    let m = min(QNetwork.conv1ChunkSamples, batch - start)
                    timed(profile, "conv1 patches (uint8)") {
                        conv.im2colSplit(observations: observations + start * observationBytes, batch: m, col: ws + w.col[0],
                                         worker: worker)
                    }
                    timed(profile, "conv1 weight gradient", flops: conv.gemmFlops(batch: m)) {
                        conv.backwardParameters(col: ws + w.col[0], dOutput: ws + w.dAct[0] + start * conv.outPixels * conv.outChannels,
                                                batch: m, dWeights: g + conv.weightOffset, beta: accumulate || start > 0 ? 1 : 0,
                                                dBias: g + conv.biasOffset, accumulateBias: accumulate || start > 0,
                                                inputScale: 1 / 255, precision: precision)
                    }
                    start += m
                }
            } else {
                timed(profile, "conv\(i + 1) weight gradient", flops: conv.gemmFlops(batch: batch)) {
                    conv.backwardParameters(col: ws + w.col[i], dOutput: ws + w.dAct[i], batch: batch,
                                            dWeights: ws + w.dPatchWeights, beta: 0, dBias: g + conv.biasOffset,
                                            accumulateBias: accumulate, precision: precision)
                }
                timed(profile, "conv\(i + 1) weight gradient to OIHW (copy)") {
                    conv.accumulatePermutedGradient(ws + w.dPatchWeights, into: g, accumulate: accumulate)
                }
                // The patch matrix is consumed: reuse it as dCol.
                timed(profile, "conv\(i + 1) input gradient (GEMM + col2im)", flops: conv.gemmFlops(batch: batch)) {
                    conv.backwardInput(dOutput: ws + w.dAct[i], batch: batch, weights: patchWeights(i, p, pw),
                                       dCol: ws + w.col[i], dInput: ws + w.dAct[i - 1], worker: worker,
                                       precision: precision)
                }
            }
        }
    }
}

extension Conv2D {
    /// FLOPs of one GEMM of this layer over `batch` samples (forward, weight or input gradient):
    /// 2 x (batch x output pixels) x output channels x patch rows.
    func gemmFlops(batch: Int) -> Double { 2 * Double(batch * outPixels) * Double(outChannels) * Double(patchRows) }
}

extension Linear {
    /// FLOPs of one GEMM of this layer over `batch` samples: 2 x batch x in x out.
    func gemmFlops(batch: Int) -> Double { 2 * Double(batch) * Double(inFeatures) * Double(outFeatures) }
}
