import ArenaSupport
import Foundation
import Testing
@testable import Runner

@Suite struct TensorBoardWriterTests {
    /// Splits a TFRecord file into its records, checking the length and both masked CRC-32Cs.
    static func parseRecords(_ bytes: [UInt8]) throws -> [[UInt8]] {
        struct Bad: Error, CustomStringConvertible { let description: String }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        var records: [[UInt8]] = []
        var at = 0
        while at < bytes.count {
            guard at + 12 <= bytes.count else { throw Bad(description: "torn header at \(at)") }
            let length = Int(u64(at))
            guard u32(at + 8) == CRC32C.masked(CRC32C.checksum(bytes[at..<at + 8])) else {
                throw Bad(description: "length CRC at \(at)")
            }
            guard at + 12 + length + 4 <= bytes.count else { throw Bad(description: "torn record at \(at)") }
            let data = Array(bytes[at + 12..<at + 12 + length])
            guard u32(at + 12 + length) == CRC32C.masked(CRC32C.checksum(data)) else {
                throw Bad(description: "data CRC at \(at)")
            }
            records.append(data)
            at += 16 + length
        }
        return records
    }

    @Test func framingAndEventBytesMatchHandEncoding() throws {
        let folder = try TemporaryFolder("tb")
        defer { folder.remove() }
        let writer = try TensorBoardWriter(directory: folder.url, wallTime: 2.0, host: "h")
        writer.scalar("a", 1.0, step: 3, wallTime: 2.0)
        try writer.flush()
        writer.close()
        #expect(writer.url.lastPathComponent == "events.out.tfevents.2.h")
        let records = try Self.parseRecords([UInt8](try Data(contentsOf: writer.url)))
        try #require(records.count == 2)
        // Event{wall_time=2.0 (field 1, fixed64), step=0 (field 2, varint), file_version (field 3)}:
        // 0x09 + 2.0 as little-endian double, 0x10 0x00, 0x1A len "brain.Event:2".
        let double2: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0x40]
        #expect(records[0] == [0x09] + double2 + [0x10, 0x00, 0x1A, 13] + Array("brain.Event:2".utf8))
        // Value{tag "a" (0x0A 01 61), simple_value 1.0f (0x15 00 00 80 3F)} = 8 bytes,
        // Summary{value (0x0A 08 ...)} = 10 bytes, Event{..., step 3 (0x10 03), summary (0x2A 0A ...)}.
        let value: [UInt8] = [0x0A, 0x01, 0x61, 0x15, 0x00, 0x00, 0x80, 0x3F]
        #expect(records[1] == [0x09] + double2 + [0x10, 0x03, 0x2A, 0x0A, 0x0A, 0x08] + value)
    }

    @Test func negativeAndLargeStepsUseProtobufVarints() {
        var writer = ProtoWriter()
        writer.int64(field: 2, 300)
        #expect(writer.bytes == [0x10, 0xAC, 0x02])  // 300 = 0b10_0101100 -> AC 02
        var negative = ProtoWriter()
        negative.int64(field: 2, -1)
        #expect(negative.bytes == [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    @Test func tornRecordIsDetectedByTheParser() throws {
        let folder = try TemporaryFolder("tb")
        defer { folder.remove() }
        let writer = try TensorBoardWriter(directory: folder.url, wallTime: 5, host: "h")
        writer.scalar("x", 2.5, step: 1, wallTime: 5)
        writer.close()
        var bytes = [UInt8](try Data(contentsOf: writer.url))
        bytes[bytes.count - 6] ^= 0x01  // flip a bit in the last record's data
        #expect(throws: (any Error).self) { try Self.parseRecords(bytes) }
    }

    /// What TensorBoard itself reads from our file, through the `tensorboard` package.
    static func readWithTensorBoard(_ path: URL, raw: Bool = false) throws -> [String: Any] {
        let script = repositoryRoot.appendingPathComponent("scripts/read_tfevents.py").path
        let result = try runProcess(["python3", script] + (raw ? ["--raw"] : []) + [path.path])
        if result.status != 0 {
            Issue.record("scripts/read_tfevents.py failed (\(result.status)): \(result.err) Run 'make test', which installs the Python package tensorboard.")
            return [:]
        }
        return try JSONSerialization.jsonObject(with: result.out) as? [String: Any] ?? [:]
    }

    @Test func tensorBoardReadsTagsStepsAndValues() throws {
        let folder = try TemporaryFolder("tb")
        defer { folder.remove() }
        let writer = try TensorBoardWriter(directory: folder.url, wallTime: 1_700_000_000, host: "test")
        let points: [(String, Double, Int)] = [
            ("train/episode_return", -21, 812), ("train/episode_return", -19.5, 1700),
            ("eval/mean_return", 3.25, 2000), ("train/loss", 0.0123, 2000), ("perf/steps_per_second", 410.5, 2000),
        ]
        for (i, (tag, value, step)) in points.enumerated() {
            writer.scalar(tag, value, step: step, wallTime: 1_700_000_000 + Double(i))
        }
        try writer.flush()
        writer.close()

        let scalars = try #require(try Self.readWithTensorBoard(folder.url)["scalars"] as? [String: [[Double]]])
        #expect(Set(scalars.keys) == Set(points.map(\.0)))
        for (i, (tag, value, step)) in points.enumerated() {
            let match = scalars[tag]?.first { Int($0[0]) == step }
            #expect(match?[1] == Double(Float(value)), "\(tag) at \(step)")
            #expect(match?[2] == 1_700_000_000 + Double(i))
        }

        let events = try #require(try Self.readWithTensorBoard(writer.url, raw: true)["events"] as? [[String: Any]])
        #expect(events.count == points.count + 1)
        #expect(events.first?["file_version"] as? String == "brain.Event:2")
    }

    /// A resumed run opens a second file (even within the same second); TensorBoard merges the
    /// folder's files, and drops the old file's points past the checkpoint the run resumed from.
    @Test func resumeOpensANewFileAndTensorBoardMergesThem() throws {
        let folder = try TemporaryFolder("tb")
        defer { folder.remove() }
        let first = try TensorBoardWriter(directory: folder.url, wallTime: 100, host: "h")
        for step in 1...4 { first.scalar("train/loss", Double(step), step: step * 10, wallTime: 100) }
        first.close()
        let second = try TensorBoardWriter(directory: folder.url, resumingAfter: 20, wallTime: 100, host: "h")
        for step in 3...6 { second.scalar("train/loss", Double(step) + 0.5, step: step * 10, wallTime: 101) }
        second.close()
        #expect(first.url != second.url)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path).count == 2)

        let scalars = try #require(try Self.readWithTensorBoard(folder.url)["scalars"] as? [String: [[Double]]])
        let loss = try #require(scalars["train/loss"])
        #expect(loss.map { Int($0[0]) } == [10, 20, 30, 40, 50, 60])
        #expect(loss.map { $0[1] } == [1, 2, 3.5, 4.5, 5.5, 6.5])

        // Without the restart marker, TensorBoard (file version 2) would keep both copies.
        let plain = try TemporaryFolder("tb")
        defer { plain.remove() }
        let a = try TensorBoardWriter(directory: plain.url, wallTime: 100, host: "h")
        a.scalar("x", 1, step: 30, wallTime: 100)
        a.close()
        let b = try TensorBoardWriter(directory: plain.url, wallTime: 100, host: "h")
        b.scalar("x", 2, step: 30, wallTime: 101)
        b.close()
        let both = try #require(try Self.readWithTensorBoard(plain.url)["scalars"] as? [String: [[Double]]])
        #expect(both["x"]?.count == 2)
    }

    @Test func unwritableFolderIsAClearError() throws {
        let folder = try TemporaryFolder("tb")
        defer { folder.remove() }
        let file = folder.path("file")
        try Data([1]).write(to: file)
        #expect {
            _ = try TensorBoardWriter(directory: file.appendingPathComponent("logs"))
        } throws: { error in
            "\(error)".contains("Could not write") && "\(error)".contains("not a folder")
        }
    }
}
