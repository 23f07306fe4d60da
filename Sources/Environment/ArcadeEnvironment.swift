import ArenaSupport
import CALE
import Foundation

/// An error from the emulator or from the environment's inputs, as one sentence a user can act on.
public struct EnvironmentError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The ALE handle: the one reference type of this module, because the emulator has identity
/// and must be freed exactly once.
final class ALEHandle {
    let raw: OpaquePointer
    init() throws {
        var err = [CChar](repeating: 0, count: 512)
        guard let p = cale_create(&err, err.count) else {
            throw EnvironmentError("Could not create the ALE emulator: \(String(cString: err)).")
        }
        raw = p
    }
    deinit { cale_destroy(raw) }

    /// Calls a CALE function that reports through a status and an error buffer.
    func check(_ what: String, _ body: (OpaquePointer, UnsafeMutablePointer<CChar>, Int) -> Int32) throws {
        var err = [CChar](repeating: 0, count: 512)
        let status = err.withUnsafeMutableBufferPointer { buf in
            // safe because: the buffer outlives the call and its length is passed with it.
            body(raw, buf.baseAddress.unsafelyUnwrapped, buf.count)
        }
        if status != 0 { throw EnvironmentError("\(what) failed: \(String(cString: err)).") }
    }
}

/// Emulator-level settings: what ALE itself is told before the ROM is loaded.
public struct EmulatorSettings: Codable, Equatable, Sendable {
    /// Probability that the emulator repeats the previous action instead of the new one, per frame
    /// ("sticky actions", Machado et al. 2018). 0 disables it.
    public var stickyActionProbability: Float = 0
    /// Use all 18 actions instead of the game's minimal set.
    public var fullActionSpace: Bool = false
    /// Game mode (nil: the game's default). Must be one of `availableModes`.
    public var mode: Int? = nil
    /// Game difficulty (nil: the game's default). Must be one of `availableDifficulties`.
    public var difficulty: Int? = nil

    public init(stickyActionProbability: Float = 0, fullActionSpace: Bool = false,
                mode: Int? = nil, difficulty: Int? = nil) {
        self.stickyActionProbability = stickyActionProbability
        self.fullActionSpace = fullActionSpace
        self.mode = mode
        self.difficulty = difficulty
    }
}

/// One Atari 2600 game running in ALE, one emulator frame per `act`. No preprocessing: that is
/// `AtariEnvironment`'s job. Not thread-safe; one environment per thread.
public final class ArcadeEnvironment {
    /// The ROM id (`pong`), as ALE names it.
    public let gameID: String
    public let romURL: URL
    public let settings: EmulatorSettings
    /// The seed ALE's own generator (sticky actions, reset) was given.
    public let aleSeed: Int32
    /// ALE action ids the agent's action indices map to (minimal or full set).
    public let actionSet: [Int32]
    public let minimalActionSet: [Int32]
    public let legalActionSet: [Int32]
    public let availableModes: [Int]
    public let availableDifficulties: [Int]
    public let screenHeight: Int
    public let screenWidth: Int
    public var screenSize: Int { screenHeight * screenWidth }

    let handle: ALEHandle

    /// The version of the ALE library this process runs on.
    public static var aleVersion: String { String(cString: cale_ale_version()) }

    /// An environment for a game id, with its ROM found by `RomLocator`.
    public convenience init(game: String, settings: EmulatorSettings = .init(), seed: UInt64,
                            romDirectory: URL? = nil) throws {
        let info = try GameCatalog.resolve(game)
        let url = try RomLocator.romURL(for: info.id, directory: romDirectory)
        try self.init(romURL: url, settings: settings, seed: seed)
    }

    /// An environment for a ROM file. The file must be one ALE supports (checked by MD5).
    public init(romURL: URL, settings: EmulatorSettings = .init(), seed: UInt64) throws {
        guard (0...1).contains(settings.stickyActionProbability) else {
            throw EnvironmentError("The sticky-action probability must be between 0 and 1, got \(settings.stickyActionProbability).")
        }
        var idBuf = [CChar](repeating: 0, count: 128)
        var err = [CChar](repeating: 0, count: 512)
        let supported = cale_rom_supported(romURL.path, &idBuf, idBuf.count, &err, err.count)
        if supported < 0 {
            throw EnvironmentError("Cannot read the ROM file \(romURL.path): \(String(cString: err)). Check the path, or run `make setup` to install the ROMs.")
        }
        if supported == 0 {
            throw EnvironmentError("\(romURL.path) is not a ROM that ALE \(Self.aleVersion) supports (its MD5 matches no known game). Use a ROM installed by `make setup`, or pass a game id such as `pong`.")
        }
        gameID = String(cString: idBuf)
        self.romURL = romURL
        self.settings = settings
        var seeder = SeededGenerator(seed: seed, stream: "ale")
        let aleSeed = Int32(truncatingIfNeeded: seeder.next() & 0x7fff_ffff)
        self.aleSeed = aleSeed

        handle = try ALEHandle()
        let h = handle
        try h.check("Setting the ALE seed") { cale_set_int($0, "random_seed", aleSeed, $1, $2) }
        try h.check("Setting sticky actions") {
            cale_set_float($0, "repeat_action_probability", settings.stickyActionProbability, $1, $2)
        }
        try h.check("Setting frame skip") { cale_set_int($0, "frame_skip", 1, $1, $2) }
        try h.check("Loading \(romURL.lastPathComponent)") { cale_load_rom($0, romURL.path, $1, $2) }

        func ids(_ f: (OpaquePointer, UnsafeMutablePointer<Int32>, Int32) -> Int32) -> [Int32] {
            var out = [Int32](repeating: 0, count: 64)
            let n = Int(f(h.raw, &out, Int32(out.count)))
            return Array(out.prefix(min(n, out.count)))
        }
        minimalActionSet = ids { cale_minimal_action_set($0, $1, $2) }
        legalActionSet = ids { cale_legal_action_set($0, $1, $2) }
        availableModes = ids { cale_available_modes($0, $1, $2) }.map(Int.init)
        availableDifficulties = ids { cale_available_difficulties($0, $1, $2) }.map(Int.init)
        actionSet = settings.fullActionSpace ? legalActionSet : minimalActionSet
        screenHeight = Int(cale_screen_height(h.raw))
        screenWidth = Int(cale_screen_width(h.raw))

        if let mode = settings.mode {
            guard availableModes.contains(mode) else {
                throw EnvironmentError("Mode \(mode) is not available for \(gameID); choose one of \(availableModes.map(String.init).joined(separator: ", ")).")
            }
            try h.check("Setting mode \(mode)") { cale_set_mode($0, Int32(mode), $1, $2) }
        }
        if let difficulty = settings.difficulty {
            guard availableDifficulties.contains(difficulty) else {
                throw EnvironmentError("Difficulty \(difficulty) is not available for \(gameID); choose one of \(availableDifficulties.map(String.init).joined(separator: ", ")).")
            }
            try h.check("Setting difficulty \(difficulty)") { cale_set_difficulty($0, Int32(difficulty), $1, $2) }
        }
        if settings.mode != nil || settings.difficulty != nil { try reset() }
    }

    public var actionCount: Int { actionSet.count }

    /// Starts a new episode (ALE's reset_game: the system keeps its random state).
    public func reset() throws {
        try handle.check("Resetting \(gameID)") { cale_reset_game($0, $1, $2) }
    }

    /// Plays one emulator frame with the action at `index` of `actionSet`; returns the reward.
    @inline(__always)
    public func act(_ index: Int) -> Int {
        precondition(index >= 0 && index < actionSet.count,
                     "action index must be in 0..<\(actionSet.count), got \(index)")
        return actALE(actionSet[index])
    }

    /// Plays one emulator frame with a raw ALE action id (0...17).
    @inline(__always)
    public func actALE(_ aleAction: Int32) -> Int {
        var reward: Int32 = 0
        // Cannot fail: the ROM is loaded and the id is checked by the caller's set.
        _ = cale_act(handle.raw, aleAction, 1.0, &reward, nil, 0)
        return Int(reward)
    }

    /// True when the game itself has ended.
    public var isGameOver: Bool { cale_game_over(handle.raw) != 0 }
    public var lives: Int { Int(cale_lives(handle.raw)) }
    /// Emulator frames since the ROM was loaded.
    public var frameNumber: Int { Int(cale_frame_number(handle.raw)) }
    /// Emulator frames since the episode started.
    public var episodeFrameNumber: Int { Int(cale_episode_frame_number(handle.raw)) }
    public var mode: Int { Int(cale_mode(handle.raw)) }
    public var difficulty: Int { Int(cale_difficulty(handle.raw)) }

    /// The screen through ALE's grayscale palette, `screenSize` bytes, straight into `buffer`.
    @inline(__always)
    public func grayscale(into buffer: UnsafeMutablePointer<UInt8>) {
        cale_screen_grayscale(handle.raw, buffer)
    }

    /// The screen as interleaved RGB, `screenSize * 3` bytes, straight into `buffer`.
    public func rgb(into buffer: UnsafeMutablePointer<UInt8>) {
        cale_screen_rgb(handle.raw, buffer)
    }

    public func ram() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 128)
        cale_ram(handle.raw, &out)
        return out
    }

    /// The whole emulator state, including the system and sticky-action random state.
    public func cloneState() throws -> [UInt8] {
        var err = [CChar](repeating: 0, count: 512)
        var ptr: UnsafeMutablePointer<UInt8>? = nil
        let n = cale_clone_state(handle.raw, &ptr, &err, err.count)
        guard n >= 0, let p = ptr else {
            throw EnvironmentError("Cloning the emulator state failed: \(String(cString: err)).")
        }
        defer { cale_free(p) }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// Restores a state made by `cloneState` of an environment of the same game.
    public func restoreState(_ state: [UInt8]) throws {
        try handle.check("Restoring the emulator state") { h, e, l in
            state.withUnsafeBufferPointer { cale_restore_state(h, $0.baseAddress, $0.count, e, l) }
        }
    }

    /// SHA-256 of the serialized emulator state: the check an episode file carries.
    public func stateChecksum() throws -> String {
        SHA256.hash(try cloneState()).hexString
    }
}
