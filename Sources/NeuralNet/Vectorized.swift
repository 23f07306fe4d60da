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

    /// DeepMind's centered RMSProp over count parameters (see OptimizerConfig).
    static func rmspropCentered(lr: Float, decay: Float, epsilon: Float, p: UnsafeMutablePointer<Float>,
                                g: UnsafePointer<Float>, m1: UnsafeMutablePointer<Float>,
                                m2: UnsafeMutablePointer<Float>, count: Int) {
        let oneMinus = 1 - decay
        var i = 0
        #if arch(x86_64)
        let d4 = splat(decay), o4 = splat(oneMinus), lr4 = splat(lr), e4 = splat(epsilon)
        while i + 4 <= count {
            // safe because: i + 4 <= count in all four buffers.
            let gi = ld(g + i)
            let avg = _mm_add_ps(_mm_mul_ps(d4, ld(m1 + i)), _mm_mul_ps(o4, gi))
            let sq = _mm_add_ps(_mm_mul_ps(d4, ld(m2 + i)), _mm_mul_ps(_mm_mul_ps(o4, gi), gi))
            st(avg, m1 + i)
            st(sq, m2 + i)
            let denom = _mm_sqrt_ps(_mm_add_ps(_mm_sub_ps(sq, _mm_mul_ps(avg, avg)), e4))
            st(_mm_sub_ps(ld(p + i), _mm_div_ps(_mm_mul_ps(lr4, gi), denom)), p + i)
            i += 4
        }
        #endif
        while i < count {
            let gi = g[i]
            let avg = decay * m1[i] + oneMinus * gi
            let sq = decay * m2[i] + oneMinus * gi * gi
            m1[i] = avg
            m2[i] = sq
            p[i] -= lr * gi / (sq - avg * avg + epsilon).squareRoot()
            i += 1
        }
    }

    /// Adam with PyTorch's formula: p -= stepSize * m / (sqrt(v) / bias2Sqrt + eps).
    static func adam(stepSize: Float, beta1: Float, beta2: Float, bias2Sqrt: Float, epsilon: Float,
                     p: UnsafeMutablePointer<Float>, g: UnsafePointer<Float>, m1: UnsafeMutablePointer<Float>,
                     m2: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        #if arch(x86_64)
        let b1 = splat(beta1), c1 = splat(1 - beta1), b2 = splat(beta2), c2 = splat(1 - beta2)
        let s4 = splat(stepSize), bs = splat(bias2Sqrt), e4 = splat(epsilon)
        while i + 4 <= count {
            let gi = ld(g + i)
            let m = _mm_add_ps(_mm_mul_ps(b1, ld(m1 + i)), _mm_mul_ps(c1, gi))
            let v = _mm_add_ps(_mm_mul_ps(b2, ld(m2 + i)), _mm_mul_ps(_mm_mul_ps(c2, gi), gi))
            st(m, m1 + i)
            st(v, m2 + i)
            let denom = _mm_add_ps(_mm_div_ps(_mm_sqrt_ps(v), bs), e4)
            st(_mm_sub_ps(ld(p + i), _mm_div_ps(_mm_mul_ps(s4, m), denom)), p + i)
            i += 4
        }
        #endif
        while i < count {
            let gi = g[i]
            let m = beta1 * m1[i] + (1 - beta1) * gi
            let v = beta2 * m2[i] + (1 - beta2) * gi * gi
            m1[i] = m
            m2[i] = v
            p[i] -= stepSize * m / (v.squareRoot() / bias2Sqrt + epsilon)
            i += 1
        }
    }
}
