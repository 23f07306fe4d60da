// Worker threads for the learner: the lanes of an update (pieces of the batch, one per core) and
// the element-wise work around the GEMMs (patch matrices, col2im, the optimizer step, zeroing).
// Work is split into disjoint pieces (by samples or by parameter ranges) at boundaries that
// depend only on the count and the number of parts, so element-wise results are bit-identical
// to one thread and everything else is deterministic for a given number of parts.
import Dispatch
import Foundation

/// Runs `body(0)` on the caller and `body(1)` ... `body(parts - 1)` on persistent worker threads,
/// one each, and returns when all are done. Allocation-free per call; the threads live as long as
/// the owner.
final class WorkerThread {
    private final class Shared: @unchecked Sendable {
        let start = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        var task: ((Int) -> Void)?
        var stopping = false
    }
    /// How many pieces `run` runs (the caller's plus one per worker thread).
    let parts: Int
    private let workers: [Shared]

    init(parts: Int = 2) {
        precondition(parts >= 2, "a worker pool runs at least 2 parts, got \(parts)")
        self.parts = parts
        workers = (1..<parts).map { _ in Shared() }
        for (i, shared) in workers.enumerated() {
            let part = i + 1
            let thread = Thread {
                while true {
                    shared.start.wait()
                    if shared.stopping { return }
                    shared.task?(part)
                    shared.done.signal()
                }
            }
            thread.name = "NeuralNet worker \(part)"
            thread.start()
        }
    }

    deinit {
        for shared in workers {
            shared.stopping = true
            shared.start.signal()
        }
    }

    /// Every part of `body`: the workers run parts 1 ..< parts while the caller runs part 0.
    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            // safe because: a worker only calls `task` between its `start` and `done`, and we wait
            // for every `done` before `task` is cleared and the closure goes out of scope.
            for shared in workers {
                shared.task = escapable
                shared.start.signal()
            }
            escapable(0)
            for shared in workers {
                shared.done.wait()
                shared.task = nil
            }
        }
    }
}

/// Piece `part` of `0..<count` split into `parts` pieces whose inner boundaries are multiples of
/// `align` (piece i starts at count * i / parts rounded up to `align`). With 2 parts the
/// boundary is count / 2 rounded up to `align`.
@inline(__always)
func piece(_ part: Int, of count: Int, parts: Int, align: Int = 1) -> Range<Int> {
    func boundary(_ i: Int) -> Int { i >= parts ? count : min(count, (count * i / parts + align - 1) / align * align) }
    return boundary(part)..<boundary(part + 1)
}

/// Splits `0..<count` into two halves whose boundary is a multiple of `align`.
@inline(__always)
func half(_ part: Int, of count: Int, align: Int = 1) -> Range<Int> { piece(part, of: count, parts: 2, align: align) }

/// Runs body(range) over `0..<count` in `worker.parts` pieces on `worker`, or in one piece without it.
@inline(__always)
func splitWork(_ worker: WorkerThread?, count: Int, align: Int = 1, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
    guard let worker, count >= minimum, count >= 2 else { body(0..<count); return }
    let parts = worker.parts
    worker.run { part in
        let r = piece(part, of: count, parts: parts, align: align)
        if !r.isEmpty { body(r) }
    }
}
