#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Graceful stop on SIGINT (Ctrl-C) and SIGTERM (`kill`, a scheduler): the handler only sets a
/// flag that the training loop polls between steps (`ShutdownSignal.requested`), so the loop can
/// finish the current step, write a checkpoint and exit 0. A second signal while the first is
/// being honoured stops the process at once with the signal's default action.
///
///     ShutdownSignal.install()
///     defer { ShutdownSignal.uninstall() }
///     while !done {
///         step()
///         if ShutdownSignal.requested { try writeCheckpoint(); return }
///     }
public enum ShutdownSignal {
    /// The signal number received first, 0 while none. Lock-free, so the handler may touch it.
    private static let received = Atomic<Int32>(0)
    /// Whether the handler prints a one-line notice to standard error.
    private static let announce = Atomic<Bool>(true)
    /// Dispositions to restore on `uninstall()`. Touched only by install/uninstall, which the
    /// program calls from one thread.
    nonisolated(unsafe) private static var previous: [Int32: sigaction] = [:]

    public static let signals: [Int32] = [SIGINT, SIGTERM]

    /// True once SIGINT or SIGTERM has arrived.
    public static var requested: Bool { received.load(ordering: .acquiring) != 0 }

    /// "SIGINT" or "SIGTERM" once requested, for the log line.
    public static var signalName: String? {
        switch received.load(ordering: .acquiring) {
        case 0: return nil
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case let other: return "signal \(other)"
        }
    }

    /// Installs the handlers (again after `uninstall`). `announce`: print "stopping after this
    /// step" on standard error when a signal arrives.
    public static func install(announce: Bool = true) {
        // Initialise the statics now, not inside the handler.
        received.store(0, ordering: .releasing)
        Self.announce.store(announce, ordering: .releasing)
        let handler: @convention(c) (Int32) -> Void = { signalNumber in
            let (first, _) = ShutdownSignal.received.compareExchange(
                expected: 0, desired: signalNumber, ordering: .acquiringAndReleasing)
            if !first {
                // A second signal: the user means it. Default action (terminate) now.
                signal(signalNumber, SIG_DFL)
                raise(signalNumber)
                return
            }
            if ShutdownSignal.announce.load(ordering: .relaxed) {
                // write(2) is async-signal-safe; the text is a static constant.
                let notice: StaticString = "\narena: stopping after this step and writing a checkpoint (send the signal again to quit at once)\n"
                _ = write(2, notice.utf8Start, notice.utf8CodeUnitCount)
            }
        }
        // A parent may have started us with these signals blocked (a thread that blocks them
        // hands its mask to the children it spawns): then SIGTERM would never reach the handler
        // and the run would not checkpoint. Unblock them on this thread, which later threads inherit.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signalNumber in signals { sigaddset(&unblock, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for signalNumber in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = handler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART  // blocking reads and writes resume instead of failing with EINTR
            var old = sigaction()
            if sigaction(signalNumber, &action, &old) == 0 && previous[signalNumber] == nil {
                previous[signalNumber] = old
            }
        }
    }

    /// Restores the dispositions that were in place before `install()`, and clears the flag.
    public static func uninstall() {
        for (signalNumber, old) in previous {
            var old = old
            sigaction(signalNumber, &old, nil)
        }
        previous.removeAll()
        received.store(0, ordering: .releasing)
    }
}
