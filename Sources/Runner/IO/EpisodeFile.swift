import ArenaSupport
import Foundation

/// Everything needed to re-run one episode exactly and to check the re-run: what was played
/// under which settings, every action, every reward, and a checksum of the final emulator state.
/// Its JSON form (`Codable`, snake_case keys) is the episode file's header plus `actions` and
/// `rewards`; the file itself stores actions and rewards in binary.
public struct EpisodeRecord: Codable, Equatable, Sendable {
    /// ALE ROM id, e.g. "pong".
    public var game: String
    /// Evaluation protocol name, e.g. "nature2015".
    public var protocolName: String
    /// The protocol's settings, all of them, as recorded (see `JSONValue(encoding:)`).
    public var protocolSettings: JSONValue
    public var aleVersion: String
    public var arenaVersion: String
    /// The run's seed.
    public var seed: UInt64
    /// Further named seeds the episode used (e.g. "ale" for ALE's random_seed), if any.
    public var seeds: [String: UInt64]
    /// The agent (preset name, or "random").
    public var agent: String
    /// ALE game mode and difficulty.
    public var mode: Int
    public var difficulty: Int
    /// Emulator frames per agent step.
    public var frameSkip: Int
    /// ALE's repeat_action_probability.
    public var stickyActionProbability: Double
    /// Whether actions index ALE's full 18-action set (else the game's minimal set).
    public var fullActionSet: Bool
    /// Sum of the rewards: the episode's score.
    public var finalScore: Double
    /// Hex checksum of the emulator state at the end (computed by the environment).
    public var finalStateChecksum: String
    /// SHA-256 (hex) of the weights that played, if an agent with weights did.
    public var weightsSHA256: String?
    /// The action index chosen at each agent step (including no-op starts).
    public var actions: [UInt8]
    /// The raw (unclipped) reward of each agent step.
    public var rewards: [Float]

    /// Agent steps in the episode.
    public var steps: Int { actions.count }

    public init(game: String, protocolName: String, protocolSettings: JSONValue, aleVersion: String,
                arenaVersion: String, seed: UInt64, seeds: [String: UInt64] = [:], agent: String, mode: Int = 0,
                difficulty: Int = 0, frameSkip: Int, stickyActionProbability: Double, fullActionSet: Bool,
                finalScore: Double, finalStateChecksum: String, weightsSHA256: String? = nil,
                actions: [UInt8], rewards: [Float]) {
        precondition(actions.count == rewards.count,
                     "EpisodeRecord needs one reward per action: \(actions.count) actions, \(rewards.count) rewards")
        self.game = game
        self.protocolName = protocolName
        self.protocolSettings = protocolSettings
        self.aleVersion = aleVersion
        self.arenaVersion = arenaVersion
        self.seed = seed
        self.seeds = seeds
        self.agent = agent
        self.mode = mode
        self.difficulty = difficulty
        self.frameSkip = frameSkip
        self.stickyActionProbability = stickyActionProbability
        self.fullActionSet = fullActionSet
        self.finalScore = finalScore
        self.finalStateChecksum = finalStateChecksum
        self.weightsSHA256 = weightsSHA256
        self.actions = actions
        self.rewards = rewards
    }

    enum CodingKeys: String, CodingKey {
        case game, protocolName = "protocol", protocolSettings = "protocol_settings", aleVersion = "ale_version"
        case arenaVersion = "arena_version", seed, seeds, agent, mode, difficulty, frameSkip = "frame_skip"
        case stickyActionProbability = "sticky_action_probability", fullActionSet = "full_action_set"
        case steps, finalScore = "final_score", finalStateChecksum = "final_state_checksum"
        case weightsSHA256 = "weights_sha256", actions, rewards
    }

    /// The episode file's header: the record without `actions` and `rewards`.
    struct Header: Codable {
        var record: EpisodeRecord
        init(_ record: EpisodeRecord) { self.record = record }
        init(from decoder: any Decoder) throws { record = try EpisodeRecord(from: decoder, headerOnly: true) }
        func encode(to encoder: any Encoder) throws { try record.encode(to: encoder, headerOnly: true) }
    }

    public init(from decoder: any Decoder) throws { try self.init(from: decoder, headerOnly: false) }

    public func encode(to encoder: any Encoder) throws { try encode(to: encoder, headerOnly: false) }

    init(from decoder: any Decoder, headerOnly: Bool) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        game = try c.decode(String.self, forKey: .game)
        protocolName = try c.decode(String.self, forKey: .protocolName)
        protocolSettings = try c.decode(JSONValue.self, forKey: .protocolSettings)
        aleVersion = try c.decode(String.self, forKey: .aleVersion)
        arenaVersion = try c.decode(String.self, forKey: .arenaVersion)
        seed = try c.decode(UInt64.self, forKey: .seed)
        seeds = try c.decodeIfPresent([String: UInt64].self, forKey: .seeds) ?? [:]
        agent = try c.decode(String.self, forKey: .agent)
        mode = try c.decode(Int.self, forKey: .mode)
        difficulty = try c.decode(Int.self, forKey: .difficulty)
        frameSkip = try c.decode(Int.self, forKey: .frameSkip)
        stickyActionProbability = try c.decode(Double.self, forKey: .stickyActionProbability)
        fullActionSet = try c.decode(Bool.self, forKey: .fullActionSet)
        finalScore = try c.decode(Double.self, forKey: .finalScore)
        finalStateChecksum = try c.decode(String.self, forKey: .finalStateChecksum)
        weightsSHA256 = try c.decodeIfPresent(String.self, forKey: .weightsSHA256)
        if headerOnly {
            actions = []
            rewards = []
        } else {
            actions = try c.decode([UInt8].self, forKey: .actions)
            rewards = try c.decode([Float].self, forKey: .rewards)
            let steps = try c.decodeIfPresent(Int.self, forKey: .steps) ?? actions.count
            guard steps == actions.count, steps == rewards.count else {
                throw DecodingError.dataCorruptedError(forKey: .steps, in: c, debugDescription:
                    "steps is \(steps) but there are \(actions.count) actions and \(rewards.count) rewards")
            }
        }
    }

    func encode(to encoder: any Encoder, headerOnly: Bool) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(game, forKey: .game)
        try c.encode(protocolName, forKey: .protocolName)
        try c.encode(protocolSettings, forKey: .protocolSettings)
        try c.encode(aleVersion, forKey: .aleVersion)
        try c.encode(arenaVersion, forKey: .arenaVersion)
        try c.encode(seed, forKey: .seed)
        try c.encode(seeds, forKey: .seeds)
        try c.encode(agent, forKey: .agent)
        try c.encode(mode, forKey: .mode)
        try c.encode(difficulty, forKey: .difficulty)
        try c.encode(frameSkip, forKey: .frameSkip)
        try c.encode(stickyActionProbability, forKey: .stickyActionProbability)
        try c.encode(fullActionSet, forKey: .fullActionSet)
        try c.encode(steps, forKey: .steps)
        try c.encode(finalScore, forKey: .finalScore)
        try c.encode(finalStateChecksum, forKey: .finalStateChecksum)
        try c.encodeIfPresent(weightsSHA256, forKey: .weightsSHA256)
        if !headerOnly {
            try c.encode(actions, forKey: .actions)
            try c.encode(rewards, forKey: .rewards)
        }
    }
}

/// The `.episode` file format, compact and self-checking (all integers little-endian):
///
///     offset      size  content
///     0           8     magic 0x89 "AEP" \r \n 0x1A \n  (PNG-style: catches text-mode mangling)
///     8           4     format version (UInt32) = 1
///     12          4     header length H (UInt32)
///     16          H     header: UTF-8 JSON of the record without actions and rewards, with "steps" = N
///     16+H        N     actions, one UInt8 per agent step
///     16+H+N      4N    rewards, Float32 per agent step
///     16+H+5N     32    SHA-256 of every byte before it
public enum EpisodeFile {
    public static let magic: [UInt8] = [0x89, 0x41, 0x45, 0x50, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let version: UInt32 = 1
    /// ALE's full action set has 18 actions; an index at or above it cannot be replayed.
    public static let actionCount = 18

    /// Writes `record` atomically (temporary file, fsync, rename).
    public static func write(_ record: EpisodeRecord, to url: URL) throws {
        try AtomicFile.write(try encode(record), to: url)
    }

    /// Reads and checks an episode file; every problem is a `EpisodeFileError` sentence.
    public static func read(from url: URL) throws -> EpisodeRecord {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            let exists = FileManager.default.fileExists(atPath: url.path)
            throw EpisodeFileError(path: url.path, problem: exists ? "it cannot be read" : "it does not exist")
        }
        do {
            return try decode([UInt8](data))
        } catch let problem as Problem {
            throw EpisodeFileError(path: url.path, problem: problem.text)
        }
    }

    /// The file's bytes.
    public static func encode(_ record: EpisodeRecord) throws -> [UInt8] {
        precondition(record.actions.count == record.rewards.count,
                     "EpisodeRecord needs one reward per action: \(record.actions.count) actions, \(record.rewards.count) rewards")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = [UInt8](try encoder.encode(EpisodeRecord.Header(record)))
        var out = magic
        out.reserveCapacity(16 + header.count + 5 * record.steps + 32)
        appendLittleEndian(version, to: &out)
        appendLittleEndian(UInt32(header.count), to: &out)
        out += header
        out += record.actions
        for reward in record.rewards { appendLittleEndian(reward.bitPattern, to: &out) }
        out += SHA256.hash(out).bytes
        return out
    }

    struct Problem: Error { let text: String }

    /// Parses and checks the bytes of an episode file.
    static func decode(_ bytes: [UInt8]) throws -> EpisodeRecord {
        let size = bytes.count
        let digestSize = 32
        guard size >= magic.count else {
            if bytes.elementsEqual(magic.prefix(size)) {
                throw Problem(text: "it is cut short: only \(size) bytes (the file was truncated; record the episode again)")
            }
            throw Problem(text: "it does not start with the episode-file signature (it is not an AtariArena episode file)")
        }
        guard bytes[0..<8].elementsEqual(magic) else {
            throw Problem(text: "it does not start with the episode-file signature (it is not an AtariArena episode file)")
        }
        guard size >= 16 else {
            throw Problem(text: "it is cut short: only \(size) bytes (the file was truncated; record the episode again)")
        }
        let fileVersion = readUInt32(bytes, at: 8)
        guard fileVersion == version else {
            let advice = fileVersion > version ? "it was written by a newer arena; update this one" : "this arena cannot read it"
            throw Problem(text: "it is format version \(fileVersion), this arena reads version \(version) (\(advice))")
        }
        let headerLength = Int(readUInt32(bytes, at: 12))
        guard size >= 16 + headerLength else {
            throw Problem(text: "it is cut short: \(size) bytes, but its header alone needs \(16 + headerLength + digestSize) (the file was truncated; record the episode again)")
        }
        let headerBytes = Array(bytes[16..<16 + headerLength])
        // The announced step count, read before the checksum only to explain a mismatch.
        struct StepsOnly: Decodable { let steps: Int }
        let announcedSteps = (try? JSONDecoder().decode(StepsOnly.self, from: Data(headerBytes)))?.steps
        func explainLength() throws {
            guard let steps = announcedSteps, steps >= 0, steps <= size else { return }  // bounded: no overflow
            let expected = 16 + headerLength + 5 * steps + digestSize
            if size < expected {
                throw Problem(text: "it is cut short: \(size) of the \(expected) bytes its header announces (the file was truncated; record the episode again)")
            }
            if size > expected {
                let extra = size - expected
                throw Problem(text: "it has \(extra) \(extra == 1 ? "byte" : "bytes") more than its header announces (something was appended to it)")
            }
        }
        guard size >= 16 + headerLength + digestSize else {
            try explainLength()
            throw Problem(text: "it is cut short: \(size) bytes, but its header alone needs \(16 + headerLength + digestSize) (the file was truncated; record the episode again)")
        }

        let body = bytes[0..<size - digestSize]
        guard SHA256.hash(body).bytes.elementsEqual(bytes[(size - digestSize)...]) else {
            try explainLength()
            throw Problem(text: "its SHA-256 checksum does not match its contents (the file was changed or damaged after it was written)")
        }

        // From here on the bytes are exactly what a writer produced; what remains are checks
        // against a buggy or hand-made writer.
        var record: EpisodeRecord
        do {
            record = try JSONDecoder().decode(EpisodeRecord.Header.self, from: Data(headerBytes)).record
        } catch DecodingError.keyNotFound(let key, _) {
            throw Problem(text: "its header has no \"\(key.stringValue)\"")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Problem(text: "its header's \"\(key)\" has the wrong type")
        } catch {
            throw Problem(text: "its header is not valid JSON")
        }
        guard let steps = announcedSteps else { throw Problem(text: "its header has no \"steps\"") }
        let expected = 16 + headerLength + 5 * min(max(steps, 0), size) + digestSize  // clamped: no overflow
        guard steps >= 0, steps <= size, size == expected else {
            throw Problem(text: "its lengths disagree: the header announces \(steps) steps (\(expected) bytes in all), the file has \(size) bytes")
        }
        let actionsStart = 16 + headerLength
        record.actions = Array(bytes[actionsStart..<actionsStart + steps])
        let rewardsStart = actionsStart + steps
        record.rewards = (0..<steps).map { Float(bitPattern: readUInt32(bytes, at: rewardsStart + 4 * $0)) }

        if let bad = record.actions.firstIndex(where: { Int($0) >= actionCount }) {
            throw Problem(text: "action \(record.actions[bad]) at step \(bad) is not an ALE action (there are \(actionCount))")
        }
        if let bad = record.rewards.firstIndex(where: { !$0.isFinite }) {
            throw Problem(text: "the reward at step \(bad) is not a finite number")
        }
        let total = record.rewards.reduce(0.0) { $0 + Double($1) }
        guard abs(total - record.finalScore) <= 1e-3 + 1e-6 * abs(record.finalScore) else {
            throw Problem(text: "its final score \(record.finalScore) is not the sum of its rewards (\(total))")
        }
        return record
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[offset + $1]) << (8 * UInt32($1)) }
    }
}

/// An episode file that cannot be used, with the reason.
public struct EpisodeFileError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let problem: String
    public var description: String { "\(path) is not a usable episode file: \(problem)." }
}
