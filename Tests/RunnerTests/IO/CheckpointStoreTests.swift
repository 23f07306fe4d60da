#if canImport(Glibc)
import Glibc
#endif
import ArenaSupport
import Foundation
import Testing
import TestSupport
@testable import Runner

@Suite struct CheckpointStoreTests {
    func names(_ url: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []).sorted()
    }

    func writeSmall(_ store: CheckpointStore, _ steps: Int, fill: UInt8 = 1) throws {
        try store.write(agentSteps: steps) { ckpt in
            try ckpt.add("weights.bin", bytes: [UInt8](repeating: fill, count: 100))
            try ckpt.add("counters.json", data: Data("{\"agent_steps\": \(steps)}".utf8))
        }
    }

    @Test func writesFilesAndAManifestThenReadsThemBack() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        let store = CheckpointStore(directory: folder.path("checkpoints"))
        let weights = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let url = try store.write(agentSteps: 1000) { ckpt in
            try ckpt.add("weights.bin", bytes: weights)
            try ckpt.add("empty.bin", bytes: [UInt8]())
        }
        #expect(url.lastPathComponent == "ckpt-1000")
        #expect(names(folder.path("checkpoints")) == ["ckpt-1000"])
        #expect(names(url) == ["MANIFEST", "empty.bin", "weights.bin"])

        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("MANIFEST"))) as? [String: Any])
        #expect(json["format_version"] as? Int == 1)
        #expect(json["agent_steps"] as? Int == 1000)
        #expect((json["created"] as? String)?.hasSuffix("Z") == true)
        let files = try #require(json["files"] as? [[String: Any]])
        #expect(files.map { $0["name"] as? String } == ["weights.bin", "empty.bin"])
        #expect(files.map { $0["size"] as? Int } == [5000, 0])
        #expect(files[0]["sha256"] as? String == SHA256.hash(weights).hexString)
        #expect(files[1]["sha256"] as? String == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        let found = try #require(try store.latestValid())
        #expect(found.agentSteps == 1000 && found.url == url && found.warnings.isEmpty)
        let reader = try CheckpointReader(url: found.url)
        #expect(try reader.bytes("weights.bin") == weights)
        #expect(try reader.bytes("empty.bin") == [])
        #expect(reader.fileNames == ["weights.bin", "empty.bin"])
    }

    /// Small writes gather in the sink's buffer, large ones bypass it; both in order, and the
    /// chunked reader returns every byte.
    @Test func streamsLargeFilesInPiecesOfAnySize() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        let store = CheckpointStore(directory: folder.url)
        var expected: [UInt8] = []
        let url = try store.write(agentSteps: 5) { ckpt in
            try ckpt.add("replay.bin") { sink in
                for (i, size) in [1, 7, 4096, (1 << 20) + 3, 13, (1 << 20) - 5, 2].enumerated() {
                    let piece = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ i) }
                    expected += piece
                    try sink.write(piece)
                }
                try sink.write(contentsOf: [Float(1.5), -2])
                expected += [0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0]  // 1.5f and -2f, little-endian, by hand
                #expect(sink.bytesWritten == expected.count)
            }
        }
        var back: [UInt8] = []
        try CheckpointReader(url: url).read("replay.bin", chunkSize: 100_000) { back.append(contentsOf: $0) }
        #expect(back == expected)
    }

    @Test func keepsTheNewestCompleteCheckpoints() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        let store = CheckpointStore(directory: folder.url, keep: 2)
        for steps in [1000, 2000, 3000] { try writeSmall(store, steps) }
        #expect(names(folder.url) == ["ckpt-2000", "ckpt-3000"])

        // A failing write deletes nothing but its own temporary folder.
        struct Interrupted: Error {}
        #expect(throws: CheckpointWriteError.self) {
            try store.write(agentSteps: 4000) { ckpt in
                try ckpt.add("weights.bin", bytes: [1, 2, 3])
                throw Interrupted()
            }
        }
        #expect(names(folder.url) == ["ckpt-2000", "ckpt-3000"])
    }

    @Test func sameStepsReplaceAndNewerAbandonedCheckpointsAreDeleted() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        let store = CheckpointStore(directory: folder.url, keep: 3)
        for steps in [1000, 2000, 3000] { try writeSmall(store, steps) }
        try writeSmall(store, 2000, fill: 9)  // resumed from 2000, wrote it again
        #expect(names(folder.url) == ["ckpt-1000", "ckpt-2000"])
        #expect(try CheckpointReader(url: folder.path("ckpt-2000")).bytes("weights.bin") == [UInt8](repeating: 9, count: 100))
    }

    @Test func staleTemporaryFoldersAreRemovedOnOpen() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        try writeSmall(CheckpointStore(directory: folder.url), 1000)
        try FileManager.default.createDirectory(at: folder.path("ckpt-2000.tmp"), withIntermediateDirectories: true)
        try Data([1]).write(to: folder.path("ckpt-2000.tmp/weights.bin"))
        // A crash between moving the old ckpt-3000 aside and renaming its replacement in.
        try FileManager.default.copyItem(at: folder.path("ckpt-1000"), to: folder.path("ckpt-3000.replaced"))
        _ = CheckpointStore(directory: folder.url)
        #expect(names(folder.url) == ["ckpt-1000", "ckpt-3000"])
    }

    @Test func latestValidFallsBackPastADamagedOrUnfinishedCheckpoint() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        let store = CheckpointStore(directory: folder.url, keep: 3)
        for steps in [1000, 2000, 3000] { try writeSmall(store, steps) }

        // Flip one byte of ckpt-3000's weights: same size, wrong checksum.
        let weights = folder.path("ckpt-3000/weights.bin")
        var bytes = [UInt8](try Data(contentsOf: weights))
        bytes[50] ^= 0xFF
        try Data(bytes).write(to: weights)
        // ckpt-2000 never got its MANIFEST (torn write from an older tool, or a copy cut short).
        try FileManager.default.removeItem(at: folder.path("ckpt-2000/MANIFEST"))

        let found = try #require(try store.latestValid())
        #expect(found.agentSteps == 1000)
        #expect(found.warnings.count == 2)
        #expect(found.warnings[0] == "checkpoint ckpt-3000 is incomplete or damaged: weights.bin does not match its checksum; using ckpt-1000")
        #expect(found.warnings[1].contains("ckpt-2000") && found.warnings[1].contains("no MANIFEST"))

        // Reading the damaged file directly is refused too.
        #expect(throws: CheckpointReadError(checkpoint: "ckpt-3000", problem: "weights.bin does not match its checksum")) {
            try CheckpointReader(url: folder.path("ckpt-3000")).bytes("weights.bin")
        }
    }

    @Test func latestValidReportsTruncationMissingFilesAndBadManifests() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        let store = CheckpointStore(directory: folder.url, keep: 5)
        for steps in [1, 2, 3, 4] { try writeSmall(store, steps) }
        try Data([1, 1]).write(to: folder.path("ckpt-4/weights.bin"))
        try FileManager.default.removeItem(at: folder.path("ckpt-3/counters.json"))
        try Data("{not json".utf8).write(to: folder.path("ckpt-2/MANIFEST"))
        let found = try #require(try store.latestValid())
        #expect(found.agentSteps == 1)
        #expect(found.warnings.count == 3)
        #expect(found.warnings[0].contains("weights.bin has 2 bytes, its MANIFEST says 100"))
        #expect(found.warnings[1].contains("counters.json is missing"))
        #expect(found.warnings[2].contains("MANIFEST is not a valid checkpoint manifest"))

        try FileManager.default.removeItem(at: folder.path("ckpt-1/MANIFEST"))
        #expect {
            _ = try store.latestValid()
        } throws: { error in
            let text = "\(error)"
            return error is CheckpointUnusableError && text.contains("ckpt-4:") && text.contains("ckpt-1:")
                && text.contains("start the run over")
        }
        #expect(try CheckpointStore(directory: folder.path("none")).latestValid() == nil)
    }

    @Test func unwritableFolderIsAClearErrorAndLeavesNothing() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        try Data([1]).write(to: folder.path("run"))  // a file where the run folder should be
        let store = CheckpointStore(directory: folder.path("run/checkpoints"))
        #expect {
            try writeSmall(store, 1000)
        } throws: { error in
            "\(error)" == "Checkpoint ckpt-1000 was not written to \(folder.path("run/checkpoints").path): "
                + "Could not write \(folder.path("run").path): it is a file, not a folder. There is no earlier checkpoint."
        }
        // /proc refuses new folders even to root.
        #expect(throws: CheckpointWriteError.self) { try writeSmall(CheckpointStore(directory: URL(fileURLWithPath: "/proc/arena-checkpoints")), 1) }
    }

    @Test func injectedDiskFullRemovesTheTemporaryFolderAndKeepsThePreviousCheckpoint() throws {
        let folder = try TemporaryFolder("ckpt")
        defer { folder.remove() }
        var store = CheckpointStore(directory: folder.url)
        try writeSmall(store, 1000)
        store.injectedWriteFailure = (file: "replay.bin", afterBytes: 1 << 20, errno: ENOSPC)
        #expect {
            try store.write(agentSteps: 2000) { ckpt in
                try ckpt.add("weights.bin", bytes: [1, 2, 3])
                try ckpt.add("replay.bin") { sink in
                    for _ in 0..<4 { try sink.write([UInt8](repeating: 7, count: 700_000)) }
                }
            }
        } throws: { error in
            let text = "\(error)"
            return text.contains("ckpt-2000.tmp/replay.bin: the disk is full (free some space and run again).")
                && text.hasSuffix("The earlier checkpoint ckpt-1000 is intact; a resumed run starts from it.")
        }
        #expect(names(folder.url) == ["ckpt-1000"])
        let found = try #require(try store.latestValid())
        #expect(found.agentSteps == 1000 && found.warnings.isEmpty)
    }
}

/// Real failures as root, on a tiny tmpfs: a full disk, then a read-only file system. Runs only
/// where this process may mount (root with CAP_SYS_ADMIN, as on the project's machines); the
/// injected-failure test above covers the same logic everywhere.
@Suite struct CheckpointStoreRealDiskTests {
    static let canMount: Bool = {
        guard let disk = mountTinyTmpfs() else { return false }
        umount2(disk.path, Int32(MNT_DETACH))
        try? FileManager.default.removeItem(at: disk)
        return true
    }()

    static func mountTinyTmpfs() -> URL? {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("arena-tmpfs-\(UUID().uuidString)")
        guard (try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)) != nil else { return nil }
        guard mount("tmpfs", url.path, "tmpfs", 0, "size=512k") == 0 else {
            try? FileManager.default.removeItem(at: url)
            return nil
        }
        return url
    }

    @Test(.requires(canMount, "needs to mount a tiny tmpfs, which takes root with CAP_SYS_ADMIN (run make test as root)"))
    func fullDiskThenReadOnlyKeepThePreviousCheckpoint() throws {
        let disk = try #require(Self.mountTinyTmpfs())
        defer {
            umount2(disk.path, Int32(MNT_DETACH))
            try? FileManager.default.removeItem(at: disk)
        }
        let store = CheckpointStore(directory: disk.appendingPathComponent("checkpoints"))
        try store.write(agentSteps: 1000) { try $0.add("weights.bin", bytes: [UInt8](repeating: 3, count: 100_000)) }

        #expect {
            try store.write(agentSteps: 2000) { ckpt in
                try ckpt.add("weights.bin", bytes: [UInt8](repeating: 4, count: 100_000))
                try ckpt.add("replay.bin") { sink in
                    for _ in 0..<8 { try sink.write([UInt8](repeating: 5, count: 100_000)) }
                }
            }
        } throws: { error in
            "\(error)".contains("the disk is full") && "\(error)".contains("ckpt-1000 is intact")
        }
        #expect((try? FileManager.default.contentsOfDirectory(atPath: store.directory.path)) == ["ckpt-1000"])
        #expect(try store.latestValid()?.agentSteps == 1000)

        guard mount("tmpfs", disk.path, "tmpfs", UInt(MS_REMOUNT | MS_RDONLY), "size=512k") == 0 else {
            Issue.record("could not remount the tmpfs read-only: \(String(cString: strerror(errno)))")
            return
        }
        #expect {
            try store.write(agentSteps: 3000) { try $0.add("weights.bin", bytes: [1]) }
        } throws: { error in
            "\(error)".contains("the file system is read-only") && "\(error)".contains("ckpt-1000 is intact")
        }
        let found = try #require(try store.latestValid())
        #expect(found.agentSteps == 1000 && found.warnings.isEmpty)
        #expect(try CheckpointReader(url: found.url).bytes("weights.bin") == [UInt8](repeating: 3, count: 100_000))
    }
}
