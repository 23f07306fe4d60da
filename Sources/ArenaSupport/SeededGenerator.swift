/// The one random number generator of the project: xoshiro256** (Blackman and Vigna, 2018),
/// seeded through SplitMix64. Every random choice in AtariArena takes one of these explicitly;
/// nothing uses the system generator. Its whole state is four words, so a checkpoint can save
/// and restore it exactly (`state`).
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The raw state. Restoring it restores the stream exactly.
    public var state: [UInt64] {
        get { [s0, s1, s2, s3] }
        set {
            precondition(newValue.count == 4, "SeededGenerator state has 4 words, got \(newValue.count)")
            (s0, s1, s2, s3) = (newValue[0], newValue[1], newValue[2], newValue[3])
        }
    }
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose stream is a pure function of `seed`.
    public init(seed: UInt64) {
        var sm = seed
        func splitMix() -> UInt64 {
            sm &+= 0x9E37_79B9_7F4A_7C15
            var z = sm
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// An independent stream for a named purpose (`"env"`, `"replay"`, `"init"`...), derived
    /// from a run seed, so that adding a consumer never shifts another consumer's stream.
    public init(seed: UInt64, stream: String) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the stream name
        for b in stream.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        self.init(seed: seed ^ h)
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A uniform Float in [0, 1) from the top 24 bits.
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }
    /// A uniform Double in [0, 1) from the top 53 bits.
    public mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

extension SeededGenerator {
    /// A uniform integer in 0..<n (Lemire's multiply-and-reject), written out rather than taken
    /// from the standard library so that every stream (actions, replay draws) stays the same
    /// across toolchains. Uses one `next()` and, rarely, a few more.
    public mutating func nextInt(below n: Int) -> Int {
        precondition(n > 0, "nextInt(below:) needs n > 0, got \(n)")
        let range = UInt64(n)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }
}
