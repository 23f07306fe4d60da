// The BLAS seam: the only Swift file that imports CBLAS (Debian's OpenBLAS).
// Everything else in NeuralNet calls `BLAS.gemm`, so swapping the library (or testing against the
// naive `Reference.gemm`) touches one file.
import CBLAS
import Foundation
import CKernels

/// How the learner's GEMMs multiply: fp32 throughout (OpenBLAS's sgemm), or bf16 products with
/// fp32 accumulation (our AVX512_BF16 kernel; weights, gradients, optimizer state and every
/// element-wise pass stay fp32). A training setting, recorded with the run; acting and
/// evaluation always run in fp32.
public enum Precision: String, Codable, Equatable, Sendable, CaseIterable {
    case fp32
    case bf16

    /// Whether this CPU can run it (bf16 needs AVX512_BF16: Intel Cooper Lake / Sapphire Rapids and
    /// later, AMD Zen 4 and later).
    public var isSupported: Bool {
        switch self {
        case .fp32: return true
        case .bf16: return BLAS.bf16Supported
        }
    }

    /// Nil when this CPU can run it, else a sentence naming the value and what is allowed.
    public var unsupportedReason: String? {
        isSupported ? nil
            : "precision '\(rawValue)' needs a CPU with AVX512_BF16 (Intel Cooper Lake or later, AMD Zen 4 or later); this CPU (\(BLAS.cpuModel)) has none. Use \"fp32\"."
    }
}

/// Row-major single-precision matrix multiply and OpenBLAS's threading controls.
public enum BLAS {
    /// Sets the number of threads OpenBLAS uses for every following call (process-wide).
    public static func setThreads(_ count: Int) {
        precondition(count >= 1, "BLAS thread count must be at least 1, got \(count)")
        openblas_set_num_threads(Int32(count))
    }

    /// Makes OpenBLAS single-threaded, once per process; every `QLearner` calls it when built.
    /// The learner's parallelism is its own (its lanes and worker thread, given once when it is
    /// built), not OpenBLAS's: OpenBLAS's idle pool threads spin after every threaded call and
    /// would take a core from the lanes, and results then never depend on a process-wide
    /// thread count that another part of the process could change. Benchmarks that measure
    /// OpenBLAS's own threading call `setThreads` after building their learners.
    public static func useOneThread() { _ = oneThread }
    private static let oneThread: Void = openblas_set_num_threads(1)

    /// The number of threads OpenBLAS currently uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel family OpenBLAS picked for this CPU (for example "Haswell", "Zen", "SkylakeX").
    /// `OPENBLAS_CORETYPE` in the environment overrides the detection at load time.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Whether the CPU (and OS) can run the AVX512_BF16 GEMM; checked once.
    public static let bf16Supported: Bool = arena_bf16_gemm_supported() != 0

    /// The vector path the optimizer step, gradient norm and lane sums take on this CPU:
    /// "avx512f", "avx2" or "plain" (CKernels/optimizer.c, the same bits on each).
    public static var optimizerPath: String { Optimizer.vectorPath }

    /// The CPU's model name from /proc/cpuinfo ("unknown" elsewhere).
    public static var cpuModel: String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
              let colon = line.firstIndex(of: ":") else { return "unknown" }
        return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }

    /// `values` rounded to bfloat16 (nearest even) and back: what the bf16 GEMM multiplies.
    public static func roundedToBF16(_ values: [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in out.withUnsafeMutableBufferPointer { o in
            // safe because: both buffers hold values.count floats.
            if let vi = v.baseAddress, let oi = o.baseAddress { arena_round_to_bf16(vi, oi, values.count) }
        } }
        return out
    }

    /// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major.
    /// op(A) is [m x k] (A stored [k x m] when `transA`), op(B) is [k x n] (B stored [n x k] when
    /// `transB`). Leading dimensions are the stored row lengths.
    @inline(__always)
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, precision: Precision = .fp32
    ) {
        if precision == .bf16 {
            // The learner was built only after `Precision.isSupported` (a precondition in QLearner).
            // safe because: the same contract as cblas_sgemm below; the kernel packs from these
            // pointers within the given dimensions and leading dimensions.
            let status = arena_gemm_bf16(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                                         b, Int32(ldb), beta, c, Int32(ldc))
            precondition(status == 0, "the bf16 GEMM could not allocate its packing buffers (out of memory)")
            return
        }
        // safe because: callers pass pointers into buffers sized for these dimensions (each
        // layer checks its workspace sizes once, at construction); BLAS reads/writes only inside them.
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[m x n] = alpha * op(A) * op(B) + beta * C in bf16 products (fp32 accumulation), with op(B)
    /// [k x n] packed beforehand (`PackedLinearWeights`): the bits of `gemm(precision: .bf16)`.
    @inline(__always)
    static func gemmBF16(
        transA: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        packedB: UnsafePointer<UInt32>, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // safe because: packedB holds op(B) [k x n] packed for these k and n; A and C as in gemm.
        let status = arena_gemm_bf16_packed_b(transA ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda),
                                              packedB, beta, c, Int32(ldc))
        precondition(status == 0, "the bf16 GEMM could not allocate its packing buffers (out of memory)")
    }

    /// y = alpha * A * x + beta * y with A [m x n] row-major (lda >= n), unit strides.
    @inline(__always)
    public static func gemv(
        m: Int, n: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
        x: UnsafePointer<Float>, beta: Float, y: UnsafeMutablePointer<Float>
    ) {
        // safe because: callers pass buffers of m*lda, n and m floats.
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), alpha, a, Int32(lda), x, 1, beta, y, 1)
    }
}
