// Element-wise kernels written with SSE intrinsics on x86-64 (plain loops elsewhere). The package
// builds for baseline x86-64, where the auto-vectorizer leaves loops with sqrt, max or several
// pointers scalar, and Swift's generic SIMD types are slow in debug builds. Every operation is
// element-wise or a per-column sum in a fixed order, so results are bit-identical to the scalar
// loops (sqrtps and divps are IEEE-exact like their scalar forms).
//
// Legend: count elements; rows x columns row-major matrices.

#if arch(x86_64)
import _Builtin_intrinsics.intel

typealias Float4 = SIMD4<Float>

@inline(__always) private func ld(_ p: UnsafePointer<Float>) -> Float4 { _mm_loadu_ps(p) }
@inline(__always) private func st(_ v: Float4, _ p: UnsafeMutablePointer<Float>) { _mm_storeu_ps(p, v) }
@inline(__always) private func splat(_ x: Float) -> Float4 { _mm_set1_ps(x) }
#endif

enum Vectorized {
    /// dst[i] += src[i].
    static func add(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64)
        while i + 4 <= count {
            // safe because: i + 4 <= count for both buffers.
            st(_mm_add_ps(ld(dst + i), ld(src + i)), dst + i)
            i += 4
        }
        #endif
        while i < count { dst[i] += src[i]; i += 1 }
    }

    /// row[c] = relu ? max(row[c] + bias[c], 0) : row[c] + bias[c].
    static func addBias(_ bias: UnsafePointer<Float>, to row: UnsafeMutablePointer<Float>, count: Int, relu: Bool) {
        guard relu else { add(bias, to: row, count: count); return }
        var i = 0
        #if arch(x86_64)
        let zero = _mm_setzero_ps()
        while i + 4 <= count {
            st(_mm_max_ps(_mm_add_ps(ld(row + i), ld(bias + i)), zero), row + i)
            i += 4
        }
        #endif
        while i < count { row[i] = max(row[i] + bias[i], 0); i += 1 }
    }

    /// gradient[i] = output[i] > 0 ? gradient[i] : 0.
    static func reluBackward(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64)
        let zero = _mm_setzero_ps()
        while i + 4 <= count {
            st(_mm_and_ps(_mm_cmpgt_ps(ld(output + i), zero), ld(gradient + i)), gradient + i)
            i += 4
        }
        #endif
        while i < count { gradient[i] = output[i] > 0 ? gradient[i] : 0; i += 1 }
    }

    /// dst[i] = Float(src[i]) for `count` bytes.
    @inline(__always)
    static func widen(_ src: UnsafePointer<UInt8>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64)
        let zero = _mm_setzero_si128()
        while i + 8 <= count {
            // Eight bytes -> eight 32-bit integers -> eight floats (SSE2 unpacks).
            let bytes = _mm_loadl_epi64(UnsafeRawPointer(src + i).assumingMemoryBound(to: __m128i.self))
            let words = _mm_unpacklo_epi8(bytes, zero)
            st(_mm_cvtepi32_ps(_mm_unpacklo_epi16(words, zero)), dst + i)
            st(_mm_cvtepi32_ps(_mm_unpackhi_epi16(words, zero)), dst + i + 4)
            i += 8
        }
        #endif
        while i < count { dst[i] = Float(src[i]); i += 1 }
    }
}
