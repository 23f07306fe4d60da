/// The last `depth` frames, oldest first, newest last: [depth, frameSize] uint8, the layout the
/// Q-network reads and `ReplayMemory` rebuilds at sampling time. At an episode start every slot
/// holds the first frame (the convention `ReplayMemory` uses for frames before an episode start),
/// so acting and training see identical stacks. Pushing allocates nothing.
public struct FrameStack: Sendable, Equatable {
    public let depth: Int
    public let frameSize: Int
    /// [depth * frameSize] bytes.
    public private(set) var bytes: [UInt8]

    public init(depth: Int = 4, frameSize: Int = 84 * 84) {
        precondition(depth >= 1 && frameSize >= 1, "FrameStack needs depth and frameSize >= 1, got \(depth) and \(frameSize)")
        self.depth = depth
        self.frameSize = frameSize
        bytes = [UInt8](repeating: 0, count: depth * frameSize)
    }

    /// Starts an episode: every slot holds `frame`.
    public mutating func reset(_ frame: UnsafeBufferPointer<UInt8>) {
        precondition(frame.count == frameSize, "FrameStack frames have \(frameSize) bytes, got \(frame.count)")
        let n = frameSize
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let source = frame.baseAddress else { return }
            // safe because: the buffer holds depth * n bytes and slot c covers [c * n, (c + 1) * n).
            for c in 0..<depth { (base + c * n).update(from: source, count: n) }
        }
    }

    /// Drops the oldest frame and appends `frame` as the newest.
    public mutating func push(_ frame: UnsafeBufferPointer<UInt8>) {
        precondition(frame.count == frameSize, "FrameStack frames have \(frameSize) bytes, got \(frame.count)")
        let n = frameSize, total = depth * frameSize
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress, let source = frame.baseAddress else { return }
            // safe because: both ranges lie inside the depth * n bytes (update handles the overlap
            // as a memmove), and the newest slot is the last n bytes.
            if depth > 1 { base.update(from: base + n, count: total - n) }
            (base + total - n).update(from: source, count: n)
        }
    }

    /// Replaces the whole stack (restoring a checkpoint).
    mutating func assign(_ newBytes: [UInt8]) {
        precondition(newBytes.count == bytes.count, "FrameStack holds \(bytes.count) bytes, got \(newBytes.count)")
        bytes = newBytes
    }
}
