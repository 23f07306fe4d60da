// Element-wise kernels written with SIMD8<Float>, so they vectorize whatever the target CPU
// flags (the package builds for baseline x86-64, where the auto-vectorizer leaves loops with
// sqrt, max or several pointers scalar). Every operation is element-wise or a per-column sum
// in a fixed order, so results are bit-identical to the scalar loops.
//
// Legend: count elements; rows x columns row-major matrices.

#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

typealias Float8 = SIMD8<Float>

/// Lane-wise square root. The standard library's SIMD squareRoot is a scalar loop with a libm
/// fallback; SSE's sqrtps is the same IEEE-exact operation on four lanes.
@inline(__always)
func sqrt8(_ v: Float8) -> Float8 {
    #if arch(x86_64)
    return Float8(lowHalf: _mm_sqrt_ps(v.lowHalf), highHalf: _mm_sqrt_ps(v.highHalf))
    #else
    return v.squareRoot()
    #endif
}

/// Lane-wise max(v, 0) (for the inputs here: finite floats).
@inline(__always)
func relu8(_ v: Float8) -> Float8 {
    #if arch(x86_64)
    let zero = SIMD4<Float>.zero
    return Float8(lowHalf: _mm_max_ps(v.lowHalf, zero), highHalf: _mm_max_ps(v.highHalf, zero))
    #else
    return pointwiseMax(v, .zero)
    #endif
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

@inline(__always)
func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
}

enum Vectorized {
    /// dst[i] += src[i].
    @inline(__always)
    static func add(_ src: UnsafePointer<Float>, to dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            // safe because: i + 8 <= count for both buffers.
            store8(load8(dst + i) + load8(src + i), dst + i)
            i += 8
        }
        while i < count { dst[i] += src[i]; i += 1 }
    }

    /// row[c] = relu ? max(row[c] + bias[c], 0) : row[c] + bias[c].
    @inline(__always)
    static func addBias(_ bias: UnsafePointer<Float>, to row: UnsafeMutablePointer<Float>, count: Int, relu: Bool) {
        var i = 0
        if relu {
            while i + 8 <= count {
                store8(relu8(load8(row + i) + load8(bias + i)), row + i)
                i += 8
            }
            while i < count { row[i] = max(row[i] + bias[i], 0); i += 1 }
        } else {
            add(bias, to: row, count: count)
        }
    }

    /// gradient[i] = output[i] > 0 ? gradient[i] : 0.
    static func reluBackward(output: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let keep = load8(output + i) .> Float8.zero
            store8(Float8.zero.replacing(with: load8(gradient + i), where: keep), gradient + i)
            i += 8
        }
        while i < count { gradient[i] = output[i] > 0 ? gradient[i] : 0; i += 1 }
    }

    /// Eight uint8 values as floats.
    @inline(__always)
    static func widen8(_ p: UnsafePointer<UInt8>) -> Float8 {
        Float8(UnsafeRawPointer(p).loadUnaligned(as: SIMD8<UInt8>.self))
    }

    /// DeepMind's centered RMSProp over count parameters (see OptimizerConfig).
    static func rmspropCentered(lr: Float, decay: Float, epsilon: Float, p: UnsafeMutablePointer<Float>,
                                g: UnsafePointer<Float>, m1: UnsafeMutablePointer<Float>,
                                m2: UnsafeMutablePointer<Float>, count: Int) {
        let oneMinus = 1 - decay
        var i = 0
        let d8 = Float8(repeating: decay), o8 = Float8(repeating: oneMinus)
        let lr8 = Float8(repeating: lr), e8 = Float8(repeating: epsilon)
        while i + 8 <= count {
            // safe because: i + 8 <= count in all four buffers.
            let gi = load8(g + i)
            let avg = d8 * load8(m1 + i) + o8 * gi
            let sq = d8 * load8(m2 + i) + o8 * gi * gi
            store8(avg, m1 + i)
            store8(sq, m2 + i)
            store8(load8(p + i) - lr8 * gi / sqrt8(sq - avg * avg + e8), p + i)
            i += 8
        }
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
        let b1 = Float8(repeating: beta1), c1 = Float8(repeating: 1 - beta1)
        let b2 = Float8(repeating: beta2), c2 = Float8(repeating: 1 - beta2)
        let s8 = Float8(repeating: stepSize), bs = Float8(repeating: bias2Sqrt), e8 = Float8(repeating: epsilon)
        while i + 8 <= count {
            let gi = load8(g + i)
            let m = b1 * load8(m1 + i) + c1 * gi
            let v = b2 * load8(m2 + i) + c2 * gi * gi
            store8(m, m1 + i)
            store8(v, m2 + i)
            store8(load8(p + i) - s8 * m / (sqrt8(v) / bs + e8), p + i)
            i += 8
        }
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
