import Foundation

/// Student's t distribution, for the per-game confidence interval over seeds.
public enum StudentT {
    /// P(T <= t) with `df` degrees of freedom, through the regularized incomplete beta function:
    /// for t >= 0, P = 1 - I_x(df/2, 1/2) / 2 with x = df / (df + t^2).
    public static func cdf(_ t: Double, df: Double) -> Double {
        precondition(df > 0, "degrees of freedom must be positive, got \(df)")
        let x = df / (df + t * t)
        let tail = 0.5 * regularizedIncompleteBeta(x, a: df / 2, b: 0.5)
        return t >= 0 ? 1 - tail : tail
    }

    /// The `p` quantile (0 < p < 1), by bisection on the CDF to full double precision.
    public static func quantile(_ p: Double, df: Double) -> Double {
        precondition(p > 0 && p < 1, "quantile probability must be in (0, 1), got \(p)")
        if p == 0.5 { return 0 }
        if p < 0.5 { return -quantile(1 - p, df: df) }
        var lo = 0.0, hi = 1.0
        while cdf(hi, df: df) < p { hi *= 2 }
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if mid == lo || mid == hi { break }
            if cdf(mid, df: df) < p { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    /// Two-sided `confidence` t-interval for the mean of `x` (needs two or more values).
    public static func meanInterval(_ x: [Double], confidence: Double = 0.95) -> (lower: Double, upper: Double)? {
        guard x.count >= 2 else { return nil }
        let n = Double(x.count)
        let m = x.reduce(0, +) / n
        let variance = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / (n - 1)
        let half = quantile(1 - (1 - confidence) / 2, df: n - 1) * (variance / n).squareRoot()
        return (m - half, m + half)
    }

    /// I_x(a, b), by the continued fraction of the incomplete beta (modified Lentz), using the
    /// symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
    static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let logFront = logGammas + logPowers
        if x > (a + 1) / (a + b + 2) {
            return 1 - exp(logFront) * betaContinuedFraction(1 - x, a: b, b: a) / b
        }
        return exp(logFront) * betaContinuedFraction(x, a: a, b: b) / a
    }

    private static func betaContinuedFraction(_ x: Double, a: Double, b: Double) -> Double {
        let tiny = 1e-300
        var c = 1.0
        var d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...500 {
            let m = Double(m)
            // even step
            var num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; h *= d * c
            // odd step
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + num * d; if abs(d) < tiny { d = tiny }
            c = 1 + num / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-16 { break }
        }
        return h
    }
}
