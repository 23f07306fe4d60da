// Worker threads for the learner: the lanes of an update (pieces of the batch, one per core) and
// the element-wise work around the GEMMs (patch matrices, col2im, the optimizer step, zeroing).
// Work is split into disjoint pieces (by samples or by parameter ranges) at boundaries that
// depend only on the count and the number of parts, so element-wise results are bit-identical
// to one thread and everything else is deterministic for a given number of parts.
import CKernels
import Dispatch
import Foundation
import Synchronization

/// Runs `body(0)` on the caller and `body(1)` ... `body(parts - 1)` on persistent worker threads,
/// one each, and returns when all are done. Allocation-free per call; the threads live as long as
/// the owner.
///
/// Hand-offs spin before they sleep: a worker that finished a task watches for the next one for
/// `spinNanoseconds` (yielding its core to any other runnable thread as it goes) and only then
/// blocks on a semaphore, and the caller waits for the workers' parts spinning. Woken from a
/// semaphore, a thread took 30-100 us to start on this project's VMs, several times per update
/// and per action; a watched counter hands over in well under a microsecond.
final class WorkerThread {
    private final class Shared: @unchecked Sendable {
        /// Tasks posted by the caller, and how many of them the worker has finished.
        let posted = Atomic<Int>(0)
        let finished = Atomic<Int>(0)
        /// True while the worker is (about to be) blocked on `wake`.
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
        /// Written by the caller before `posted` grows, read by the worker after it saw that.
        var task: ((Int) -> Void)?
        var stopping = false
    }
    /// How many pieces `run` runs (the caller's plus one per worker thread).
    let parts: Int
    private let workers: [Shared]
    /// How long an idle worker watches for the next task before it sleeps.
    static let spinNanoseconds: UInt64 = 200_000

    init(parts: Int = 2) {
        precondition(parts >= 2, "a worker pool runs at least 2 parts, got \(parts)")
        self.parts = parts
        workers = (1..<parts).map { _ in Shared() }
        for (i, shared) in workers.enumerated() {
            let part = i + 1
            let thread = Thread {
                var seen = 0
                while true {
                    WorkerThread.waitForTask(shared, seen: seen)
                    seen += 1
                    if shared.stopping { return }
                    shared.task?(part)
                    shared.finished.store(seen, ordering: .releasing)
                }
            }
            thread.name = "NeuralNet worker \(part)"
            thread.start()
        }
    }

    deinit {
        for shared in workers {
            shared.stopping = true
            WorkerThread.post(shared)
        }
    }

    /// Returns once `shared.posted` has passed `seen`: spinning first, then asleep on `wake`.
    private static func waitForTask(_ shared: Shared, seen: Int) {
        let start = DispatchTime.now().uptimeNanoseconds
        var spins = 0
        while shared.posted.load(ordering: .acquiring) == seen {
            spins += 1
            if spins & 63 != 0 { arena_spin_pause(); continue }
            if DispatchTime.now().uptimeNanoseconds - start < spinNanoseconds { sched_yield(); continue }
            // Sleep, unless a task arrived meanwhile. Whoever clears `sleeping` first owns the
            // wake-up: the caller (then it signals, and we take that signal) or we (no signal).
            shared.sleeping.store(true, ordering: .sequentiallyConsistent)
            if shared.posted.load(ordering: .sequentiallyConsistent) != seen,
               shared.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                return
            }
            shared.wake.wait()
            return
        }
    }

    /// Posts the task already stored in `shared.task` (or the stop request).
    private static func post(_ shared: Shared) {
        shared.posted.add(1, ordering: .sequentiallyConsistent)
        if shared.sleeping.exchange(false, ordering: .sequentiallyConsistent) { shared.wake.signal() }
    }

    /// Every part of `body`: the workers run parts 1 ..< parts while the caller runs part 0.
    func run(_ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { escapable in
            // safe because: a worker only calls `task` after it saw `posted` grow and before it
            // stores `finished`, and we wait for every `finished` before `task` is cleared and
            // the closure goes out of scope.
            for shared in workers {
                shared.task = escapable
                WorkerThread.post(shared)
            }
            escapable(0)
            for shared in workers {
                let target = shared.posted.load(ordering: .relaxed)
                var spins = 0
                while shared.finished.load(ordering: .acquiring) != target {
                    spins += 1
                    // A worker that lost its core (other processes) gets it back soonest if we yield.
                    if spins & 63 == 0 { sched_yield() } else { arena_spin_pause() }
                }
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
