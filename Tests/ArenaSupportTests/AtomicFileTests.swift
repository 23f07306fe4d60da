import Foundation
import Testing
@testable import ArenaSupport

@Suite struct AtomicFileTests {
    @Test func writesAndReplacesWholeFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.bin")
        try AtomicFile.write([1, 2, 3] as [UInt8], to: url)
        try AtomicFile.write(Data([9, 8]), to: url)
        #expect(try Data(contentsOf: url) == Data([9, 8]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.bin"])
    }

    @Test func failingBodyLeavesOldFileAndNoTemporary() throws {
        struct Boom: Error {}
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("a.bin")
        try AtomicFile.write([1] as [UInt8], to: url)
        #expect(throws: Boom.self) { try AtomicFile.write(to: url) { _ in throw Boom() } }
        #expect(try Data(contentsOf: url) == Data([1]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.bin"])
    }

    @Test func missingFolderIsAClearError() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID())/x.bin")
        #expect {
            try AtomicFile.write([1] as [UInt8], to: url)
        } throws: { error in
            "\(error)".contains("folder does not exist")
        }
    }
}
