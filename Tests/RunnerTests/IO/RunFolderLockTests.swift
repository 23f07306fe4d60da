import Foundation
import Testing
@testable import Runner

@Suite struct RunFolderLockTests {
    @Test func secondLockIsRefusedWithTheHoldersPidUntilReleased() throws {
        let folder = try TemporaryFolder("lock")
        defer { folder.remove() }
        let first = try RunFolderLock(directory: folder.url)
        // flock locks belong to the open file description, so a second open in this same process
        // conflicts exactly as another process would.
        #expect {
            _ = try RunFolderLock(directory: folder.url)
        } throws: { error in
            "\(error)" == "Another arena process (pid \(getpid())) is already using \(folder.url.path). Wait for it to finish or stop it, then run again."
        }
        first.release()
        let second = try RunFolderLock(directory: folder.url)
        second.release()
    }

    @Test func anotherProcessIsRefusedToo() throws {
        let folder = try TemporaryFolder("lock")
        defer { folder.remove() }
        let lock = try RunFolderLock(directory: folder.url)
        defer { lock.release() }
        // flock(1) from util-linux: -n fails at once (exit 1) when the lock is held.
        let result = try runProcess(["flock", "-n", folder.path(".lock").path, "true"])
        #expect(result.status == 1)
    }
}
