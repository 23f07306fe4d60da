/// Max-pooling of the last two raw frames, as in DQN (Mnih et al. 2015) and gymnasium's
/// `AtariPreprocessing`: Atari games draw some objects only every other frame, and the
/// elementwise maximum of the last two frames keeps them visible.
public enum FramePooling {
    /// `into[i] = max(a[i], b[i])` for `i < count`. Works for grayscale or RGB (any layout,
    /// it is elementwise). `into` may be `a` or `b` itself; it must not partially overlap them.
    /// Allocates nothing. The plain loop is what the optimizer turns into SIMD byte maxima
    /// (`pmaxub`, 16 bytes at a time); hand-written `SIMD16` code measured 3x slower, because
    /// the standard library's generic `pointwiseMax` is not inlined.
    @inline(__always)
    public static func max(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>,
                           into out: UnsafeMutablePointer<UInt8>, count: Int) {
        precondition(count >= 0, "FramePooling.max: count must be non-negative, got \(count)")
        for i in 0..<count {
            // safe because: i < count, and all three buffers hold count bytes.
            let x = a[i], y = b[i]
            out[i] = x > y ? x : y
        }
    }

    /// Buffer form of `max(_:_:into:count:)`; all three buffers must have the same count.
    public static func max(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>,
                           into out: UnsafeMutableBufferPointer<UInt8>) {
        precondition(a.count == b.count && a.count == out.count,
                     "FramePooling.max: buffer sizes differ: a \(a.count), b \(b.count), out \(out.count)")
        guard let pa = a.baseAddress, let pb = b.baseAddress, let po = out.baseAddress else { return }
        max(pa, pb, into: po, count: a.count)
    }
}
