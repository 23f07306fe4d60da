#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Runner

/// Sends real signals to this process; serialized, and the default handlers are restored after.
/// The signal goes to the process (test threads are pool threads that may block signals), so it
/// arrives on another thread shortly after: wait for it (not a timing assertion).
@Suite(.serialized) struct ShutdownSignalTests {
    func sendAndWait(_ signalNumber: Int32) {
        kill(getpid(), signalNumber)
        for _ in 0..<500 where !ShutdownSignal.requested { usleep(10_000) }
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
