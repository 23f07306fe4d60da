#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArenaSupport
import Foundation

/// Small POSIX helpers for the runner's files, with errors phrased as `FileWriteError` sentences.
enum FileSystem {
    /// `mkdir -p`: creates `url` and any missing parents. A path through a regular file, a
    /// read-only or full file system all end in a `FileWriteError` naming the folder.
    static func makeDirectories(_ url: URL) throws {
        let path = url.standardizedFileURL.path
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw FileWriteError(path: path, reason: "it is a file, not a folder")
            }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makeDirectories(URL(fileURLWithPath: parent)) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw FileWriteError(path: path, reason: AtomicFile.errnoText())
        }
    }

    /// Removes a file or a whole folder; missing is fine.
    static func removeTree(_ url: URL) {
        try? FileManager.default.removeItem(at: url)
    }

    /// Opens `url` for writing, creating it (it must not exist yet).
    static func createFile(_ url: URL) throws -> Int32 {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileWriteError(path: url.path, reason: AtomicFile.errnoText()) }
        return fd
    }

    /// fsync then close, throwing the first failure; the descriptor is closed exactly once.
    static func syncAndClose(_ fd: Int32, path: String) throws {
        if fsync(fd) != 0 {
            let reason = AtomicFile.errnoText()
            close(fd)
            throw FileWriteError(path: path, reason: reason)
        }
        guard close(fd) == 0 else { throw FileWriteError(path: path, reason: AtomicFile.errnoText()) }
    }

    /// fsync a folder, throwing on failure (the plain `AtomicFile.syncDirectory` ignores errors).
    static func syncDirectory(_ url: URL) throws {
        let dfd = open(url.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw FileWriteError(path: url.path, reason: AtomicFile.errnoText()) }
        defer { close(dfd) }
        // Some file systems refuse fsync on folders (EINVAL); their renames are durable anyway.
        if fsync(dfd) != 0 && errno != EINVAL {
            throw FileWriteError(path: url.path, reason: AtomicFile.errnoText())
        }
    }

    /// Reads a whole file, or nil with the reason.
    static func readAll(_ url: URL) -> Result<[UInt8], FileReadError> {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            return .failure(FileReadError(path: url.path, reason: exists ? "it could not be read" : "it does not exist"))
        }
        return .success([UInt8](data))
    }
}

/// A file could not be read; the sentence names the file and the reason.
public struct FileReadError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "Could not read \(path): \(reason)." }
}
