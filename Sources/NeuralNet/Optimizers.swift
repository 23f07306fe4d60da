// Losses and optimizers over the flat buffers.
//
// Legend: P parameters; p, g, m1, m2 are the flat parameter, gradient and moment buffers, all [P]
// with the same layout. An optimizer step is one loop over P.

import CKernels

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
    /// One step over `count` parameters. `step` counts from 1 (Adam's bias correction). With a
    /// `gradientScale` other than 1 the gradients are scaled first, in the same pass, and the
    /// scaled values are stored back (clipping folded into the step). One pass over the buffers,
    /// vectorized for the CPU at hand (CKernels/optimizer.c; the same bits on every path).
    static func step(_ config: OptimizerConfig, step: Int, parameters p: UnsafeMutablePointer<Float>,
                     gradients g: UnsafeMutablePointer<Float>, moment1 m1: UnsafeMutablePointer<Float>,
                     moment2 m2: UnsafeMutablePointer<Float>, count: Int, gradientScale: Float = 1) {
        switch config {
        case let .rmspropCentered(lr, decay, epsilon):
            arena_rmsprop_centered_step(p, g, m1, m2, count, gradientScale, lr, decay, epsilon)
        case let .adam(lr, beta1, beta2, epsilon):
            let t = Float(step)
            let bias1 = 1 - pow(beta1, t)
            let bias2Sqrt = (1 - pow(beta2, t)).squareRoot()
            arena_adam_step(p, g, m1, m2, count, gradientScale, lr / bias1, beta1, beta2, bias2Sqrt, epsilon)
        }
    }

    /// Which vector path the optimizer's passes take on this CPU ("avx512f", "avx2" or "plain").
    static var vectorPath: String { String(cString: arena_optimizer_path()) }

    /// Global L2 norm of the gradients (accumulated in Double, in a fixed order).
    static func globalNorm(_ g: UnsafePointer<Float>, count: Int) -> Float {
        Float(sumOfSquares(g, count: count).squareRoot())
    }

    /// Sum of g[i]^2 in Double, four running sums (element i into sum i mod 4) then the tail, in
    /// a fixed order.
    static func sumOfSquares(_ g: UnsafePointer<Float>, count: Int) -> Double {
        // safe because: with no extra lanes the kernel only reads g.
        arena_sum_lanes_and_squares(UnsafeMutablePointer(mutating: g), nil, 0, 0, count, 1)
    }

    /// g += the `extraLanes` buffers that follow `rest` at `stride` floats apart, in order;
    /// returns the sum of squares of the result when `squares` (see `sumOfSquares`), else 0.
    static func sumLanes(_ g: UnsafeMutablePointer<Float>, rest: UnsafePointer<Float>?, stride: Int, extraLanes: Int,
                         count: Int, squares: Bool) -> Double {
        arena_sum_lanes_and_squares(g, rest, stride, Int32(extraLanes), count, squares ? 1 : 0)
    }

    /// PyTorch's clip_grad_norm_ scale: maxNorm / (norm + 1e-6) when that is below 1, else 1.
    static func clipScale(norm: Float, maxNorm: Float) -> Float {
        let scale = maxNorm / (norm + 1e-6)
        return scale < 1 ? scale : 1
    }

    /// PyTorch's clip_grad_norm_: if the norm exceeds `maxNorm`, scale by maxNorm / (norm + 1e-6).
    /// Returns the norm before clipping.
    ///
    /// With `halves`, the pieces of the buffer (boundaries multiples of 16, one per part of the
    /// worker) are summed on the worker's threads and then added in order: a different rounding
    /// than one pass, so only callers that always split (learners with two or more lanes) use it.
    @discardableResult
    static func clip(_ g: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float, halves worker: WorkerThread? = nil) -> Float {
        let norm = Float(splitSumOfSquares(g, rest: nil, extraLanes: 0, count: count, worker: worker).squareRoot())
        let scale = clipScale(norm: norm, maxNorm: maxNorm)
        if scale < 1 {
            splitWork(worker, count: count, align: 16) { r in for i in r { g[i] *= scale } }
        }
        return norm
    }

    /// `sumLanes` with squares over the worker's pieces (boundaries multiples of 16), the pieces'
    /// sums added in order; in one piece without a worker (or for fewer than 32 values). Lane l's
    /// buffer is at rest + l * count.
    static func splitSumOfSquares(_ g: UnsafeMutablePointer<Float>, rest: UnsafePointer<Float>?, extraLanes: Int,
                                  count: Int, worker: WorkerThread?) -> Double {
        guard let worker, count >= 32 else {
            return sumLanes(g, rest: rest, stride: count, extraLanes: extraLanes, count: count, squares: true)
        }
        // Each thread writes its own slot of a stack buffer; the slots are added in order.
        let parts = worker.parts
        return withUnsafeTemporaryAllocation(of: Double.self, capacity: parts) { partial in
            worker.run { part in
                let r = piece(part, of: count, parts: parts, align: 16)
                partial[part] = sumLanes(g + r.lowerBound, rest: rest.map { $0 + r.lowerBound }, stride: count,
                                         extraLanes: extraLanes, count: r.count, squares: true)
            }
            var sum = 0.0
            for part in 0..<parts { sum += partial[part] }
            return sum
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
