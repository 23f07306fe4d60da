// A second thread for the element-wise work around the GEMMs (patch matrices, col2im, the
// optimizer step, zeroing). OpenBLAS parallelizes the GEMMs itself; without this, everything
// else runs on one core and caps a 2-thread update (Amdahl). Work is split into two disjoint
// halves (by samples or by parameter ranges), so results are bit-identical to one thread.

import Dispatch
import Foundation

/// Runs `body(0)` on the caller and `body(1)` on a persistent worker thread, and returns when
/// both are done. Allocation-free per call; the thread lives as long as the owner.
final class WorkerThread {
    private final class Shared: @unchecked Sendable {
        let start = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        var task: ((Int) -> Void)?
        var stopping = false
    }

    private let shared = Shared()

    init() {
        let shared = self.shared
        let thread = Thread {
            while true {
                shared.start.wait()
                if shared.stopping { return }
                shared.task?(1)
                shared.done.signal()
            }
        }
        thread.name = "NeuralNet worker"
        thread.start()
    }

    deinit {
        shared.stopping = true
        shared.start.signal()
    }

    /// Both halves of `body`; the worker runs part 1 while the caller runs part 0.
    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            // safe because: the worker only calls `task` between `start` and `done`, and we wait
            // for `done` before `task` is cleared and the closure goes out of scope.
            shared.task = escapable
            shared.start.signal()
            escapable(0)
            shared.done.wait()
            shared.task = nil
        }
    }
}

/// Splits `0..<count` into two halves whose boundary is a multiple of `align`.
@inline(__always)
func half(_ part: Int, of count: Int, align: Int = 1) -> Range<Int> {
    let mid = min(count, (count / 2 + align - 1) / align * align)
    return part == 0 ? 0..<mid : mid..<count
}

/// Runs body(range) over `0..<count` in two halves on `worker`, or in one piece without it.
@inline(__always)
func splitWork(_ worker: WorkerThread?, count: Int, align: Int = 1, minimum: Int = 1, _ body: (Range<Int>) -> Void) {
    guard let worker, count >= minimum, count >= 2 else { body(0..<count); return }
    worker.run { part in
        let r = half(part, of: count, align: align)
        if !r.isEmpty { body(r) }
    }
}
