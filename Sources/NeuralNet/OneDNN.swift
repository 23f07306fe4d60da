// The oneDNN seam: the only Swift file that imports CDNN (our C++ shim over Debian's libdnnl).
// With the `onednn` kernels setting the update's three convolutions (forward, weight gradient,
// input gradient) run through oneDNN instead of our im2col + GEMM; the fully connected layers,
// the loss, the optimizer and acting stay ours. oneDNN picks its kernels for the CPU at run time
// (`brgconv`/`jit` for AVX-512, AVX512_BF16, AVX2); its summation order is its own, so the
// setting is part of the run's numerics, recorded with the agent's configuration like
// `precision`.
import CDNN

/// Which code runs the update's convolutions. A training setting recorded with the run.
public enum Kernels: String, Codable, Equatable, Sendable, CaseIterable {
    /// Ours: patch matrices and GEMMs (OpenBLAS's sgemm, or our bf16 GEMM).
    case arena
    /// oneDNN's convolution primitives on our NHWC activations (bf16 with `precision` bf16).
    case onednn

    /// Nil when this machine can run it, else a sentence naming the value and what is allowed.
    public var unsupportedReason: String? {
        switch self {
        case .arena: return nil
        case .onednn: return OneDNN.unavailableReason.map { "kernels 'onednn' cannot run here: \($0). Use \"arena\"." }
        }
    }
}

public enum OneDNN {
    /// oneDNN's version ("2.6.3").
    public static var version: String { String(cString: arena_dnn_version()) }

    /// Nil when oneDNN can build the Nature network's convolutions on this CPU (checked once, in
    /// fp32 and, where the CPU has AVX512_BF16, in bf16), else why not.
    static let unavailableReason: String? = {
        var precisions: [Precision] = [.fp32]
        if BLAS.bf16Supported { precisions.append(.bf16) }
        for precision in precisions {
            let probe = QNetwork(config: QNetworkConfig(actions: 2))
            do { _ = try OneDNNConvolutions(network: probe, precision: precision, withGradients: true) } catch {
                return "\(error)"
            }
        }
        return nil
    }()
}

/// What oneDNN refused, as a sentence.
struct OneDNNError: Error, CustomStringConvertible {
    let description: String
}

/// One workspace's oneDNN convolutions: a handle per conv layer (primitives per batch size,
/// scratchpads, conversion buffers). Used by one thread at a time, like its workspace.
final class OneDNNConvolutions {
    let convs: [Conv2D]
    private let handles: [OpaquePointer]

    init(network: QNetwork, precision: Precision, withGradients: Bool) throws {
        convs = network.convs
        var made: [OpaquePointer] = []
        var message = [CChar](repeating: 0, count: 512)
        for (i, c) in network.convs.enumerated() {
            // safe because: `message` holds 512 bytes and the shim writes at most that many.
            let handle = arena_dnn_conv_create(Int32(c.inChannels), Int32(c.inHeight), Int32(c.inWidth), Int32(c.outChannels),
                                               Int32(c.kernel), Int32(c.stride), precision == .bf16 ? 1 : 0, i == 0 ? 1 : 0,
                                               withGradients && i > 0 ? 1 : 0, &message, message.count)
            guard let handle else {
                made.forEach { arena_dnn_conv_destroy($0) }
                throw OneDNNError(description: String(cString: message))
            }
            made.append(handle)
        }
        handles = made
    }

    deinit { handles.forEach { arena_dnn_conv_destroy($0) } }

    /// Builds every layer's primitives for batch size `n` now, so that the first update does not.
    func prepare(batch n: Int) throws {
        for h in handles where arena_dnn_conv_prepare(h, Int32(n)) != 0 {
            throw OneDNNError(description: String(cString: arena_dnn_conv_error(h)))
        }
    }

    /// oneDNN's implementation of layer i's pass (0 forward, 1 weight gradient, 2 input gradient)
    /// at batch size n, once that size has run.
    func implementation(layer i: Int, batch n: Int, pass: Int) -> String {
        String(cString: arena_dnn_conv_implementation(handles[i], Int32(n), Int32(pass)))
    }

    private func check(_ status: Int32, _ i: Int) {
        // A failure here is oneDNN running out of memory or refusing a batch size it accepted at
        // construction for another: nothing the caller can repair.
        precondition(status == 0, String(cString: arena_dnn_conv_error(handles[i])))
    }

    /// conv1: output [n + moreCount, OH, OW, O] = ReLU(conv(frames / 255) + b), the frames
    /// uint8 NCHW (`moreCount` more at `more`, Double DQN's s').
    func forwardFrames(_ frames: UnsafePointer<UInt8>, batch n: Int, more: UnsafePointer<UInt8>?, moreCount: Int,
                       parameters p: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let c = convs[0]
        // safe because: frames hold n (and more moreCount) observations, output their activations.
        check(arena_dnn_conv_forward(handles[0], frames, Int32(n), more, Int32(more == nil ? 0 : moreCount),
                                     p + c.weightOffset, p + c.biasOffset, output), 0)
    }

    /// For tests: conv1's frames widened by oneDNN's reorder (true) or by our kernel where it runs.
    func useReferenceWidening(_ on: Bool) { arena_dnn_conv_use_reference_widening(handles[0], on ? 1 : 0) }

    /// Layer i >= 1: output = ReLU(conv(input) + b), NHWC float both.
    func forward(_ i: Int, input: UnsafePointer<Float>, batch n: Int, parameters p: UnsafePointer<Float>,
                 output: UnsafeMutablePointer<Float>) {
        let c = convs[i]
        // safe because: input holds n NHWC inputs of layer i, output n of its outputs.
        check(arena_dnn_conv_forward(handles[i], input, Int32(n), nil, 0, p + c.weightOffset, p + c.biasOffset, output), i)
    }

    /// Layer i's weight and bias gradients into `g` (written, or added with `accumulate`) from its
    /// input (frames for conv1, NHWC floats otherwise) and its output gradient after the ReLU mask.
    func weightGradient(_ i: Int, input: UnsafeRawPointer, batch n: Int, dOutput: UnsafePointer<Float>,
                        gradients g: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let c = convs[i]
        // safe because: the gradient buffer holds layer i's weight and bias at these offsets.
        check(arena_dnn_conv_backward_weights(handles[i], input, Int32(n), dOutput, g + c.weightOffset, g + c.biasOffset,
                                              accumulate ? 1 : 0), i)
    }

    /// Layer i >= 1's input gradient dInput [n, H, W, C] (written) from dOutput.
    func inputGradient(_ i: Int, batch n: Int, dOutput: UnsafePointer<Float>, parameters p: UnsafePointer<Float>,
                       dInput: UnsafeMutablePointer<Float>) {
        // safe because: dOutput holds n of layer i's output gradients, dInput n of its inputs'.
        check(arena_dnn_conv_backward_data(handles[i], Int32(n), dOutput, p + convs[i].weightOffset, dInput), i)
    }
}
