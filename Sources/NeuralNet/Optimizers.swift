// Losses and optimizers over the flat buffers.
//
// Legend: P parameters; p, g, m1, m2 are the flat parameter, gradient and moment buffers, all [P]
// with the same layout. An optimizer step is one loop over P.

/// The TD loss on delta = Q(s, a) - y, with PyTorch's definitions.
public enum LossKind: String, Codable, Sendable, CaseIterable {
    /// Huber with delta 1 (PyTorch `huber_loss`/`smooth_l1_loss`): 0.5 d^2 for |d| <= 1, |d| - 0.5
    /// beyond; its gradient is d clipped to [-1, 1], the Nature paper's clipped TD error.
    case huber
    /// Squared error d^2 (PyTorch `mse_loss`), gradient 2d.
    case mse

    /// (loss, dLoss/dDelta) for one sample.
    @inline(__always)
    func evaluate(_ d: Float) -> (value: Float, derivative: Float) {
        switch self {
        case .huber:
            let a = abs(d)
            return a <= 1 ? (0.5 * d * d, d) : (a - 0.5, d > 0 ? 1 : -1)
        case .mse:
            return (d * d, 2 * d)
        }
    }
}

/// The optimizer and its hyperparameters.
public enum OptimizerConfig: Codable, Equatable, Sendable {
    /// DeepMind's centered RMSProp (the Nature DQN's): g_avg = d*g_avg + (1-d)*g,
    /// sq_avg = d*sq_avg + (1-d)*g^2, p -= lr * g / sqrt(sq_avg - g_avg^2 + epsilon);
    /// epsilon INSIDE the square root, no momentum.
    case rmspropCentered(lr: Float, decay: Float, epsilon: Float)
    /// Adam with PyTorch's semantics (bias-corrected, epsilon added to the corrected sqrt(v)).
    case adam(lr: Float, beta1: Float, beta2: Float, epsilon: Float)

    /// Mnih et al. 2015: centered RMSProp, lr 2.5e-4, decay 0.95, epsilon 0.01.
    public static let nature2015 = OptimizerConfig.rmspropCentered(lr: 2.5e-4, decay: 0.95, epsilon: 0.01)

    /// Adam with PyTorch's default betas (0.9, 0.999).
    public static func adam(lr: Float, epsilon: Float = 1e-8) -> OptimizerConfig {
        .adam(lr: lr, beta1: 0.9, beta2: 0.999, epsilon: epsilon)
    }

    /// Nil when valid, else a sentence naming the bad value.
    public var validationError: String? {
        switch self {
        case let .rmspropCentered(lr, decay, epsilon):
            if !(lr > 0 && lr.isFinite) { return "The RMSProp learning rate must be a positive number, got \(lr)." }
            if !(decay >= 0 && decay < 1) { return "The RMSProp decay must be in [0, 1), got \(decay)." }
            if !(epsilon > 0 && epsilon.isFinite) { return "The RMSProp epsilon must be positive, got \(epsilon)." }
        case let .adam(lr, beta1, beta2, epsilon):
            if !(lr > 0 && lr.isFinite) { return "The Adam learning rate must be a positive number, got \(lr)." }
            if !(beta1 >= 0 && beta1 < 1) { return "Adam's beta1 must be in [0, 1), got \(beta1)." }
            if !(beta2 >= 0 && beta2 < 1) { return "Adam's beta2 must be in [0, 1), got \(beta2)." }
            if !(epsilon > 0 && epsilon.isFinite) { return "Adam's epsilon must be positive, got \(epsilon)." }
        }
        return nil
    }
}

enum Optimizer {
    /// One step over `count` parameters. `step` counts from 1 (Adam's bias correction).
    static func step(_ config: OptimizerConfig, step: Int, parameters p: UnsafeMutablePointer<Float>,
                     gradients g: UnsafePointer<Float>, moment1 m1: UnsafeMutablePointer<Float>,
                     moment2 m2: UnsafeMutablePointer<Float>, count: Int) {
        switch config {
        case let .rmspropCentered(lr, decay, epsilon):
            Vectorized.rmspropCentered(lr: lr, decay: decay, epsilon: epsilon, p: p, g: g, m1: m1, m2: m2, count: count)
        case let .adam(lr, beta1, beta2, epsilon):
            let t = Float(step)
            let bias1 = 1 - pow(beta1, t)
            let bias2Sqrt = (1 - pow(beta2, t)).squareRoot()
            Vectorized.adam(stepSize: lr / bias1, beta1: beta1, beta2: beta2, bias2Sqrt: bias2Sqrt, epsilon: epsilon,
                            p: p, g: g, m1: m1, m2: m2, count: count)
        }
    }

    /// Global L2 norm of the gradients (accumulated in Double, in a fixed order).
    static func globalNorm(_ g: UnsafePointer<Float>, count: Int) -> Float {
        Float(sumOfSquares(g, count: count).squareRoot())
    }

    /// Sum of g[i]^2 in Double, four running sums then the tail, in a fixed order.
    static func sumOfSquares(_ g: UnsafePointer<Float>, count: Int) -> Double {
        var lanes = (0.0, 0.0, 0.0, 0.0)
        var i = 0
        while i + 4 <= count {
            lanes.0 += Double(g[i] * g[i]); lanes.1 += Double(g[i + 1] * g[i + 1])
            lanes.2 += Double(g[i + 2] * g[i + 2]); lanes.3 += Double(g[i + 3] * g[i + 3])
            i += 4
        }
        var sum = lanes.0 + lanes.1 + lanes.2 + lanes.3
        while i < count { sum += Double(g[i] * g[i]); i += 1 }
        return sum
    }

    /// PyTorch's clip_grad_norm_: if the norm exceeds `maxNorm`, scale by maxNorm / (norm + 1e-6).
    /// Returns the norm before clipping.
    ///
    /// With `halves`, the two halves of the buffer (boundary a multiple of 16) are summed on the
    /// caller and the worker and then added: a different rounding than one pass, so only callers
    /// that always split (two-lane learners) use it.
    @discardableResult
    static func clip(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float, halves worker: WorkerThread? = nil) -> Float {
        let norm: Float
        if let worker, count >= 32 {
            // Each thread writes its own slot of a stack buffer; the slots are added in order.
            let parts = worker.parts
            norm = withUnsafeTemporaryAllocation(of: Double.self, capacity: parts) { partial in
                worker.run { part in
                    let r = piece(part, of: count, parts: parts, align: 16)
                    partial[part] = sumOfSquares(g + r.lowerBound, count: r.count)
                }
                var sum = 0.0
                for part in 0..<parts { sum += partial[part] }
                return Float(sum.squareRoot())
            }
        } else {
            norm = globalNorm(g, count: count)
        }
        let scale = maxNorm / (norm + 1e-6)
        if scale < 1 {
            splitWork(worker, count: count, align: 16) { r in for i in r { g[i] *= scale } }
        }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
