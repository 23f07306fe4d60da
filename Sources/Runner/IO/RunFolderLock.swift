#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArenaSupport
import Foundation

/// An exclusive lock on a run folder (`flock` on `<folder>/.lock`), so two `arena train`
/// processes never write the same checkpoints and metrics. The kernel drops the lock when the
/// process ends, even by SIGKILL, so a crashed run never leaves a stale lock behind.
public final class RunFolderLock {
    public let url: URL
    private var fd: Int32

    /// Takes the lock or throws `RunFolderBusyError` at once (it does not wait).
    public init(directory: URL) throws {
        try FileSystem.makeDirectories(directory)
        url = directory.appendingPathComponent(".lock")
        // A local descriptor until the lock is held: if init throws after every stored property
        // is set, deinit runs, and must not close a number that another file may reuse by then.
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        self.fd = -1
        guard fd >= 0 else { throw FileWriteError(path: url.path, reason: AtomicFile.errnoText()) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let reason = AtomicFile.errnoText()
            var holder = [UInt8](repeating: 0, count: 32)
            let n = pread(fd, &holder, holder.count, 0)
            close(fd)
            if busy {
                let pid = n > 0 ? String(decoding: holder.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
                throw RunFolderBusyError(directory: directory.path, pid: pid)
            }
            throw FileWriteError(path: url.path, reason: reason)
        }
        // Record the holder's pid for the message another process shows (best effort).
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 { _ = pwrite(fd, pid, pid.count, 0) }
        self.fd = fd
    }

    deinit { release() }

    /// Releases the lock (also done when the object goes away or the process ends).
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }
}

/// Another process holds the run folder.
public struct RunFolderBusyError: Error, CustomStringConvertible {
    public let directory: String
    public let pid: String
    public var description: String {
        "Another arena process (pid \(pid)) is already using \(directory). Wait for it to finish or stop it, then run again."
    }
}
