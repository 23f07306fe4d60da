#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Runner

/// Raises real signals in this process; serialized, and the default handlers are restored after.
/// Test threads are pool threads that block signals, so the signal is unblocked on this thread
/// and raised at it: the handler then runs before `raise` returns, and no other thread (another
/// test's) is interrupted.
@Suite(.serialized) struct ShutdownSignalTests {
    func sendAndWait(_ signalNumber: Int32) {
        var unblock = sigset_t(), previous = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, signalNumber)
        pthread_sigmask(SIG_UNBLOCK, &unblock, &previous)
        raise(signalNumber)
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    func currentHandlerIsDefault(_ signalNumber: Int32) -> Bool {
        var current = sigaction()
        sigaction(signalNumber, nil, &current)
        return unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_DFL, to: Int.self)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func signalSetsTheFlagInsteadOfKilling(signalNumber: Int32) {
        #expect(currentHandlerIsDefault(signalNumber))
        ShutdownSignal.install(announce: false)
        defer { ShutdownSignal.uninstall() }
        #expect(!ShutdownSignal.requested)
        #expect(!currentHandlerIsDefault(signalNumber))
        sendAndWait(signalNumber)  // without the handler the test process would die here
        #expect(ShutdownSignal.requested)
        #expect(ShutdownSignal.signalName == (signalNumber == SIGTERM ? "SIGTERM" : "SIGINT"))
    }

    @Test func uninstallRestoresTheDefaultHandlersAndClearsTheFlag() {
        ShutdownSignal.install(announce: false)
        sendAndWait(SIGTERM)
        #expect(ShutdownSignal.requested)
        ShutdownSignal.uninstall()
        #expect(!ShutdownSignal.requested)
        #expect(ShutdownSignal.signalName == nil)
        #expect(currentHandlerIsDefault(SIGTERM) && currentHandlerIsDefault(SIGINT))
    }
}
