/// One block of Float memory owned by a class (identity and size: it is never copied), in the
/// llm.c spirit of "one arena per role": parameters, gradients, moments, and per-batch-size
/// workspaces each live in one. Kernels get its base address only inside `withBase`.
final class FloatArena {
    let count: Int
    private let base: UnsafeMutablePointer<Float>

    /// `count` zero-initialized floats.
    init(count: Int) {
        precondition(count >= 0, "FloatArena count must be non-negative, got \(count)")
        base = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        base.initialize(repeating: 0, count: max(count, 1))
        self.count = count
    }

    deinit { base.deallocate() }

    /// Runs `body` with the base address; the pointer must not escape the closure.
    @inline(__always)
    func withBase<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try withExtendedLifetime(self) { try body(base) }
    }

    /// Copies the whole arena into a new array.
    func toArray() -> [Float] {
        withBase { b in Array(UnsafeBufferPointer(start: b, count: count)) }
    }

    /// Overwrites the whole arena from `values` (same count).
    func assign(_ values: [Float]) {
        precondition(values.count == count, "expected \(count) floats, got \(values.count)")
        withBase { b in
            values.withUnsafeBufferPointer { src in
                // safe because: both hold exactly `count` floats (checked above).
                if let s = src.baseAddress { b.update(from: s, count: count) }
            }
        }
    }

    /// Copies another arena of the same size into this one (the target-network sync).
    func assign(from other: FloatArena) {
        precondition(other.count == count, "expected \(count) floats, got \(other.count)")
        other.withBase { src in withBase { dst in dst.update(from: src, count: count) } }
    }

    func zero() { withBase { $0.update(repeating: 0, count: count) } }
}
