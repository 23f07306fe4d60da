import Foundation

/// One block of Float memory owned by a class (identity and size: it is never copied), in the
/// llm.c spirit of "one arena per role": parameters, gradients, moments, and per-batch-size
/// workspaces each live in one. Kernels get its base address only inside `withBase`.
///
/// A block of 2 MiB or more is aligned to 2 MiB and offered to the kernel for transparent huge
/// pages (`madvise(MADV_HUGEPAGE)`, which the Debian default "madvise" mode waits for). The
/// update streams through these blocks (the optimizer alone reads and writes parameters and both
/// moments, some 80 MB a step for the Nature network), and on 4 KiB pages the hardware
/// prefetchers stop at every page boundary and the TLB misses. Where the kernel says no, the
/// block is ordinary memory; the numbers computed are the same either way.
final class FloatArena {
    let count: Int
    private let base: UnsafeMutablePointer<Float>
    /// Whether this block asked for huge pages and the kernel accepted the request.
    let hugePagesRequested: Bool

    static let hugePageBytes = 2 << 20

    /// `count` zero-initialized floats.
    init(count: Int) {
        precondition(count >= 0, "FloatArena count must be non-negative, got \(count)")
        let bytes = max(count, 1) * MemoryLayout<Float>.stride
        var requested = false
        if bytes >= Self.hugePageBytes {
            let rounded = (bytes + Self.hugePageBytes - 1) / Self.hugePageBytes * Self.hugePageBytes
            var raw: UnsafeMutableRawPointer?
            guard posix_memalign(&raw, Self.hugePageBytes, rounded) == 0, let raw else {
                fatalError("FloatArena: could not allocate \(rounded) bytes")
            }
            #if os(Linux)
            // Before the first touch, so that the page faults of the initialisation below can
            // already be served with huge pages.
            requested = madvise(raw, rounded, MADV_HUGEPAGE) == 0
            #endif
            base = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        } else {
            base = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        }
        base.initialize(repeating: 0, count: max(count, 1))
        self.count = count
        hugePagesRequested = requested
    }

    deinit {
        if max(count, 1) * MemoryLayout<Float>.stride >= Self.hugePageBytes { free(base) } else { base.deallocate() }
    }

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
