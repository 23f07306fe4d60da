// The BLAS seam: the only Swift file that imports CBLAS (Debian's OpenBLAS).
// Everything else in NeuralNet calls `BLAS.gemm`, so swapping the library (or testing against the
// naive `Reference.gemm`) touches one file.
import CBLAS

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

    /// C[m x n] = alpha * op(A) * op(B) + beta * C, all row-major.
    /// op(A) is [m x k] (A stored [k x m] when `transA`), op(B) is [k x n] (B stored [n x k] when
    /// `transB`). Leading dimensions are the stored row lengths.
    @inline(__always)
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        // safe because: callers pass pointers into buffers sized for these dimensions (each
        // layer checks its workspace sizes once, at construction); BLAS reads/writes only inside them.
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
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
