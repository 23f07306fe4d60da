import CArenaSupport

/// SHA-256 (FIPS 180-4), written out so the package needs no crypto dependency. Used to checksum
/// checkpoints, episode files and weights. Streaming: feed bytes with `update` in any pieces, then
/// `finalize()`; hashing a multi-gigabyte replay memory this way never holds it in memory.
/// On x86-64 CPUs with the SHA extensions the compression runs on them (CArenaSupport), several
/// times faster than the portable Swift rounds, which every other CPU uses.
///
///     var hasher = SHA256()
///     hasher.update(bytes)
///     let hex = hasher.finalize().hexString
public struct SHA256: Sendable {
    /// The 32-byte digest.
    public struct Digest: Equatable, Hashable, Sendable, CustomStringConvertible {
        public let bytes: [UInt8]
        /// Lower-case hex, 64 characters.
        public var hexString: String { hexEncode(bytes) }
        public var description: String { hexString }
    }

    private var h0: UInt32 = 0x6a09_e667, h1: UInt32 = 0xbb67_ae85
    private var h2: UInt32 = 0x3c6e_f372, h3: UInt32 = 0xa54f_f53a
    private var h4: UInt32 = 0x510e_527f, h5: UInt32 = 0x9b05_688c
    private var h6: UInt32 = 0x1f83_d9ab, h7: UInt32 = 0x5be0_cd19
    /// Bytes of an unfinished 64-byte block.
    private var pending: [UInt8] = []
    /// Total message length in bytes.
    private var length: UInt64 = 0

    /// Whether this CPU has the SHA instructions the accelerated compression uses.
    public static let hardwareAccelerated = arena_sha256_ni_available() != 0
    /// Use the portable rounds even where the hardware ones exist (tests compare the two).
    var portable = false

    public init() { pending.reserveCapacity(64) }

    /// One-shot digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> Digest {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done == nil { Array(bytes).withUnsafeBytes { update($0) } }
    }

    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        length &+= UInt64(buffer.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, buffer.count)
            // safe because: take <= buffer.count.
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: take))
            offset = take
            if pending.count < 64 { return }
            pending.withUnsafeBytes { block in
                if let start = block.baseAddress { compress(start, blocks: 1) }  // 64 bytes, so never nil
            }
            pending.removeAll(keepingCapacity: true)
        }
        let blocks = (buffer.count - offset) / 64
        if blocks > 0 {
            // safe because: offset + 64 * blocks <= buffer.count.
            compress(base + offset, blocks: blocks)
            offset += 64 * blocks
        }
        if offset < buffer.count {
            // safe because: offset < buffer.count.
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: buffer.count - offset))
        }
    }

    /// Pads, processes the last block and returns the digest. The hasher is spent afterwards.
    public mutating func finalize() -> Digest {
        let bitLength = length &* 8
        var tail = pending
        tail.append(0x80)
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        tail.withUnsafeBytes { padded in
            if let start = padded.baseAddress { compress(start, blocks: padded.count / 64) }  // 64 or 128 bytes
        }
        pending.removeAll()
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [h0, h1, h2, h3, h4, h5, h6, h7] {
            out.append(UInt8(truncatingIfNeeded: word >> 24)); out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8)); out.append(UInt8(truncatingIfNeeded: word))
        }
        return Digest(bytes: out)
    }

    /// Runs the compression function over `blocks` consecutive 64-byte blocks at `base`.
    private mutating func compress(_ base: UnsafeRawPointer, blocks: Int) {
        if SHA256.hardwareAccelerated && !portable {
            var state = (h0, h1, h2, h3, h4, h5, h6, h7)
            withUnsafeMutableBytes(of: &state) { words in
                // safe because: the tuple is eight contiguous UInt32 (homogeneous tuple layout) and
                // the caller guarantees 64 * blocks readable bytes at base.
                arena_sha256_ni_compress(words.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: UInt32.self),
                                         base.assumingMemoryBound(to: UInt8.self), blocks)
            }
            (h0, h1, h2, h3, h4, h5, h6, h7) = state
            return
        }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            withUnsafeBytes(of: arena_sha256_round_constants) { bytes in
                let k = bytes.assumingMemoryBound(to: UInt32.self)
                for block in 0..<blocks {
                    let p = base + block * 64
                    // safe because: the caller guarantees 64 * blocks readable bytes; w and k hold 64 words.
                    for t in 0..<16 {
                        let b = p + 4 * t
                        w[t] = UInt32(b.load(as: UInt8.self)) << 24 | UInt32(b.load(fromByteOffset: 1, as: UInt8.self)) << 16
                            | UInt32(b.load(fromByteOffset: 2, as: UInt8.self)) << 8 | UInt32(b.load(fromByteOffset: 3, as: UInt8.self))
                    }
                    for t in 16..<64 {
                        let x = w[t - 15], y = w[t - 2]
                        let s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
                        let s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
                        w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                    }
                    var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                    for t in 0..<64 {
                        let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ ch &+ k[t] &+ w[t]
                        let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ maj
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                    }
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d; h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                }
            }
        }
    }
}

@inline(__always) private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

/// Lower-case hex of `bytes`.
public func hexEncode(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
    return String(decoding: out, as: UTF8.self)
}
