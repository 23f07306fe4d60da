#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A file-system error with a sentence a user can act on.
public struct FileWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "Could not write \(path): \(reason)." }
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// Writes files that matter the safe way: to a temporary name in the same folder, fsync, rename
/// over the final name, fsync the folder. A reader sees either the old file or the whole new one,
/// never a torn one; on any error the temporary is removed and the old file stays intact.
public enum AtomicFile {
    public static func write(_ bytes: some Collection<UInt8>, to url: URL) throws {
        try write(to: url) { fd in
            try Array(bytes).withUnsafeBytes { try writeAll(fd, $0, path: url.path) }
        }
    }

    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { fd in try data.withUnsafeBytes { try writeAll(fd, $0, path: url.path) } }
    }

    /// Lets `body` stream into the temporary file descriptor with `writeAll`.
    public static func write(to url: URL, _ body: (Int32) throws -> Void) throws {
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: url.path, reason: errnoText()) }
        do {
            try body(fd)
            guard fsync(fd) == 0 else { throw FileWriteError(path: url.path, reason: errnoText()) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        // close releases the descriptor even when it fails, so it is closed exactly once; the
        // reason is read before unlink can change errno.
        guard close(fd) == 0 else {
            let reason = errnoText()
            unlink(tmp)
            throw FileWriteError(path: url.path, reason: reason)
        }
        guard rename(tmp, url.path) == 0 else {
            let reason = errnoText()
            unlink(tmp)
            throw FileWriteError(path: url.path, reason: reason)
        }
        syncDirectory(dir)
    }

    /// Writes every byte or throws (disk full, I/O error) with the path in the message.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        guard let base = buffer.baseAddress else { return }  // nothing to write
        var offset = 0
        while offset < buffer.count {
            // safe because: offset < buffer.count and the length passed is what remains.
            let n = Glibc.write(fd, base + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileWriteError(path: path, reason: errnoText())
            }
            offset += n
        }
    }

    /// fsync a folder so a rename inside it survives a power loss.
    public static func syncDirectory(_ path: String) {
        let dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    /// A user-facing reason for `code` (the current errno by default).
    public static func errnoText(_ code: Int32 = errno) -> String {
        switch code {
        case ENOSPC: return "the disk is full (free some space and run again)"
        case EACCES, EPERM: return "permission denied (choose a folder you can write to)"
        case EROFS: return "the file system is read-only"
        case ENOENT: return "the folder does not exist"
        case ENOTDIR: return "a part of the path is a file, not a folder"
        case EDQUOT: return "the disk quota is exceeded (free some space and run again)"
        case EFBIG: return "the file is larger than this file system allows"
        default: return String(cString: strerror(code))
        }
    }
}
