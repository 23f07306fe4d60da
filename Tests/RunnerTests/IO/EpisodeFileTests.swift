import ArenaSupport
import Foundation
import Testing
@testable import Runner

@Suite struct EpisodeFileTests {
    static func sample(steps: Int = 6) -> EpisodeRecord {
        let actions = (0..<steps).map { UInt8($0 % 6) }
        let rewards = (0..<steps).map { $0 % 3 == 2 ? Float(1) : ($0 % 5 == 4 ? -1 : 0) }
        return EpisodeRecord(
            game: "pong", protocolName: "nature2015",
            protocolSettings: .object(["noop_max": .int(30), "epsilon": .double(0.05), "max_episode_frames": .int(18_000),
                                       "terminal_on_life_loss": .bool(false)]),
            aleVersion: "0.12.1", arenaVersion: "0.1.0", seed: 1, seeds: ["ale": 12_345_678_901_234], agent: "dqn-cpu-fast",
            mode: 0, difficulty: 0, frameSkip: 4, stickyActionProbability: 0, fullActionSet: false,
            finalScore: Double(rewards.reduce(0, +)), finalStateChecksum: "9f86d081884c7d65",
            weightsSHA256: String(repeating: "ab", count: 32), actions: actions, rewards: rewards)
    }

    /// An episode file built by hand from its parts, with a correct checksum (for files that a
    /// buggy writer could produce).
    static func assemble(version: UInt32 = 1, header: String, actions: [UInt8], rewards: [Float]) -> [UInt8] {
        var out = EpisodeFile.magic
        func le32(_ v: UInt32) { out += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)] }
        le32(version)
        le32(UInt32(header.utf8.count))
        out += Array(header.utf8)
        out += actions
        rewards.forEach { le32($0.bitPattern) }
        return out + SHA256.hash(out).bytes
    }

    func problem(_ bytes: [UInt8]) throws -> String {
        let folder = try TemporaryFolder("episode")
        defer { folder.remove() }
        let url = folder.path("x.episode")
        try Data(bytes).write(to: url)
        do {
            _ = try EpisodeFile.read(from: url)
            return "read without error"
        } catch let error as EpisodeFileError {
            #expect("\(error)".hasPrefix("\(url.path) is not a usable episode file: "))
            return error.problem
        }
    }

    @Test func roundTripsThroughAFile() throws {
        let folder = try TemporaryFolder("episode")
        defer { folder.remove() }
        let url = folder.path("eval-000.episode")
        let record = Self.sample(steps: 1000)
        try EpisodeFile.write(record, to: url)
        #expect(try EpisodeFile.read(from: url) == record)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.url.path) == ["eval-000.episode"])
        // The JSON form carries everything too.
        let json = try JSONEncoder().encode(record)
        #expect(try JSONDecoder().decode(EpisodeRecord.self, from: json) == record)
    }

    /// The layout, parsed by an independent reader (Python's struct, json and hashlib).
    @Test func pythonReadsTheLayout() throws {
        let folder = try TemporaryFolder("episode")
        defer { folder.remove() }
        let url = folder.path("a.episode")
        try EpisodeFile.write(Self.sample(), to: url)
        let script = """
            import hashlib, json, struct, sys
            b = open(sys.argv[1], 'rb').read()
            assert b[:8] == b'\\x89AEP\\r\\n\\x1a\\n', b[:8]
            version, hlen = struct.unpack('<II', b[8:16])
            header = json.loads(b[16:16 + hlen])
            n = header['steps']
            actions = list(b[16 + hlen:16 + hlen + n])
            rewards = list(struct.unpack('<%df' % n, b[16 + hlen + n:16 + hlen + 5 * n]))
            assert len(b) == 16 + hlen + 5 * n + 32
            ok = hashlib.sha256(b[:-32]).digest() == b[-32:]
            print(json.dumps({'version': version, 'ok': ok, 'header': header, 'actions': actions, 'rewards': rewards}))
            """
        let result = try runProcess(["python3", "-c", script, url.path])
        try #require(result.status == 0, "\(result.err)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: result.out) as? [String: Any])
        #expect(parsed["version"] as? Int == 1)
        #expect(parsed["ok"] as? Bool == true)
        #expect(parsed["actions"] as? [Int] == [0, 1, 2, 3, 4, 5])
        #expect(parsed["rewards"] as? [Double] == [0, 0, 1, 0, -1, 1])
        let header = try #require(parsed["header"] as? [String: Any])
        #expect(header["game"] as? String == "pong")
        #expect(header["protocol"] as? String == "nature2015")
        #expect((header["protocol_settings"] as? [String: Any])?["noop_max"] as? Int == 30)
        #expect(header["ale_version"] as? String == "0.12.1")
        #expect(header["seed"] as? Int == 1)
        #expect((header["seeds"] as? [String: Any])?["ale"] as? Int == 12_345_678_901_234)
        #expect(header["frame_skip"] as? Int == 4)
        #expect(header["full_action_set"] as? Bool == false)
        #expect(header["final_score"] as? Double == 1)
        #expect(header["final_state_checksum"] as? String == "9f86d081884c7d65")
        #expect(header["weights_sha256"] as? String == String(repeating: "ab", count: 32))
        #expect(header["actions"] == nil && header["rewards"] == nil)
    }

    @Test func wrongMagicAndVersionAreRejected() throws {
        #expect(try problem(Array("{\"game\": \"pong\"}".utf8)).contains("not an AtariArena episode file"))
        #expect(try problem([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0]).contains("signature"))
        var bytes = try EpisodeFile.encode(Self.sample())
        bytes[8] = 2
        #expect(try problem(bytes) == "it is format version 2, this arena reads version 1 (it was written by a newer arena; update this one)")
    }

    @Test(arguments: [0, 3, 8, 12, 20, 60])
    func truncationAnywhereInTheFrontIsReported(keep: Int) throws {
        let bytes = try EpisodeFile.encode(Self.sample())
        #expect(try problem(Array(bytes.prefix(keep))).contains("cut short"))
    }

    @Test func truncationInTheBodyIsReportedWithTheAnnouncedLength() throws {
        let bytes = try EpisodeFile.encode(Self.sample())
        for cut in [1, 5, 32, 33, 40] {
            let text = try problem(Array(bytes.dropLast(cut)))
            #expect(text == "it is cut short: \(bytes.count - cut) of the \(bytes.count) bytes its header announces (the file was truncated; record the episode again)")
        }
        #expect(try problem(bytes + [0]) == "it has 1 byte more than its header announces (something was appended to it)")
    }

    @Test func tamperingIsCaughtByTheChecksum() throws {
        let clean = try EpisodeFile.encode(Self.sample())
        let expected = "its SHA-256 checksum does not match its contents (the file was changed or damaged after it was written)"
        // A changed reward byte, a changed action, a changed header character, a changed checksum byte.
        for offset in [clean.count - 33, clean.count - 32 - 24 - 1, 20, clean.count - 1] {
            var bytes = clean
            bytes[offset] ^= 0x04
            #expect(try problem(bytes) == expected, "offset \(offset)")
        }
    }

    @Test func writerBugsWithAValidChecksumAreStillRejected() throws {
        let record = Self.sample()
        let goodHeader = String(decoding: try JSONEncoder().encode(EpisodeRecord.Header(record)), as: UTF8.self)

        // Lengths: the header says 6 steps, the body holds 5.
        let short = Self.assemble(header: goodHeader, actions: Array(record.actions.prefix(5)), rewards: Array(record.rewards.prefix(5)))
        #expect(try problem(short).hasPrefix("its lengths disagree: the header announces 6 steps"))

        #expect(try problem(Self.assemble(header: "{\"steps\": 0, ", actions: [], rewards: [])) == "its header is not valid JSON")
        let noGame = goodHeader.replacingOccurrences(of: "\"game\"", with: "\"gam\"")
        #expect(try problem(Self.assemble(header: noGame, actions: record.actions, rewards: record.rewards)) == "its header has no \"game\"")
        let badType = goodHeader.replacingOccurrences(of: "\"frame_skip\":4", with: "\"frame_skip\":\"4\"")
        #expect(badType != goodHeader)
        #expect(try problem(Self.assemble(header: badType, actions: record.actions, rewards: record.rewards)) == "its header's \"frame_skip\" has the wrong type")

        var actions = record.actions
        actions[2] = 18
        #expect(try problem(Self.assemble(header: goodHeader, actions: actions, rewards: record.rewards))
                == "action 18 at step 2 is not an ALE action (there are 18)")
        var rewards = record.rewards
        rewards[0] = 5
        #expect(try problem(Self.assemble(header: goodHeader, actions: record.actions, rewards: rewards))
                == "its final score 1.0 is not the sum of its rewards (6.0)")
        rewards[0] = .nan
        #expect(try problem(Self.assemble(header: goodHeader, actions: record.actions, rewards: rewards))
                == "the reward at step 0 is not a finite number")
        let hugeSteps = goodHeader.replacingOccurrences(of: "\"steps\":6", with: "\"steps\":9223372036854775807")
        #expect(try problem(Self.assemble(header: hugeSteps, actions: record.actions, rewards: record.rewards)).hasPrefix("its lengths disagree"))
    }

    @Test func missingFileIsASentence() {
        #expect {
            _ = try EpisodeFile.read(from: URL(fileURLWithPath: "/nonexistent/x.episode"))
        } throws: { error in
            "\(error)" == "/nonexistent/x.episode is not a usable episode file: it does not exist."
        }
    }
}
