import ArenaSupport
import Foundation
import Testing
import TestSupport
@testable import Environment

@Suite struct ArcadeEnvironmentTests {
    func make(_ game: String = "pong", sticky: Float = 0.25, seed: UInt64 = 1,
              mode: Int? = nil, difficulty: Int? = nil, full: Bool = false) throws -> ArcadeEnvironment {
        try ArcadeEnvironment(game: game, settings: EmulatorSettings(stickyActionProbability: sticky, fullActionSpace: full,
                                                                    mode: mode, difficulty: difficulty),
                              seed: seed, romDirectory: testROMDirectory)
    }

    /// Plays `frames` random frames and returns (screens fingerprint, total reward).
    func play(_ env: ArcadeEnvironment, frames: Int, actionSeed: UInt64) throws -> (UInt64, Int) {
        var rng = SeededGenerator(seed: actionSeed)
        var screen = [UInt8](repeating: 0, count: env.screenSize)
        var h: UInt64 = 0, total = 0
        for _ in 0..<frames {
            total += env.act(Int(rng.next() % UInt64(env.actionCount)))
            if env.isGameOver { try env.reset() }
            screen.withUnsafeMutableBufferPointer { env.grayscale(into: $0.baseAddress!) }
            h = (h &* 31) &+ fingerprint(screen)
        }
        return (h, total)
    }

    @Test func loadsPongWithItsActionSetsAndScreen() throws {
        let env = try make()
        #expect(env.gameID == "pong")
        #expect(env.screenHeight == 210 && env.screenWidth == 160)
        #expect(env.minimalActionSet == [0, 1, 3, 4, 11, 12])  // NOOP FIRE RIGHT LEFT RIGHTFIRE LEFTFIRE
        #expect(env.legalActionSet.count == 18)
        #expect(env.actionCount == 6)
        #expect(try make(full: true).actionCount == 18)
        #expect(ArcadeEnvironment.aleVersion == "0.12.1")
    }

    @Test func sameSeedAndActionsGiveSameScreensAndReturns() throws {
        let a = try play(try make(seed: 7), frames: 3000, actionSeed: 3)
        let b = try play(try make(seed: 7), frames: 3000, actionSeed: 3)
        #expect(a == b)
        // Sticky actions draw from ALE's generator: another seed gives another trajectory.
        let c = try play(try make(seed: 8), frames: 3000, actionSeed: 3)
        #expect(a.0 != c.0)
    }

    @Test func cloneAndRestoreRoundTripIncludesRandomState() throws {
        let env = try make(sticky: 0.25, seed: 5)
        _ = try play(env, frames: 500, actionSeed: 1)
        let state = try env.cloneState()
        let checksum = try env.stateChecksum()
        let first = try play(env, frames: 800, actionSeed: 2)
        try env.restoreState(state)
        #expect(try env.stateChecksum() == checksum)
        let second = try play(env, frames: 800, actionSeed: 2)
        #expect(first == second)
        // A fresh environment restored from the state continues the same way.
        let other = try make(sticky: 0.25, seed: 99)
        try other.restoreState(state)
        #expect(try play(other, frames: 800, actionSeed: 2) == first)
    }

    @Test func rgbScreenIsThreeChannelsOfTheSameFrame() throws {
        let env = try make()
        _ = try play(env, frames: 100, actionSeed: 1)
        var rgb = [UInt8](repeating: 0, count: env.screenSize * 3)
        rgb.withUnsafeMutableBufferPointer { env.rgb(into: $0.baseAddress!) }
        #expect(Set(rgb).count > 1)
        #expect(env.ram().count == 128)
        #expect(env.frameNumber >= 100)
    }

    @Test func modesAndDifficulties() throws {
        let env = try make("space_invaders")
        #expect(env.availableModes.count > 1)
        let mode = env.availableModes[1]
        let withMode = try make("space_invaders", mode: mode, difficulty: env.availableDifficulties.last)
        #expect(withMode.mode == mode)
        #expect(throws: EnvironmentError.self) { try make("space_invaders", mode: 9999) }
        do {
            _ = try make("pong", difficulty: 77)
            Issue.record("a bad difficulty must throw")
        } catch {
            #expect("\(error)".contains("Difficulty 77 is not available for pong"))
        }
    }

    @Test func aFileThatIsNotASupportedROMIsAClearError() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bogus = dir.appendingPathComponent("pong.bin")
        try Data((0..<4096).map { UInt8($0 % 251) }).write(to: bogus)
        #expect {
            _ = try ArcadeEnvironment(romURL: bogus, seed: 1)
        } throws: { "\($0)".contains("is not a ROM that ALE 0.12.1 supports") }
        #expect {
            _ = try ArcadeEnvironment(romURL: dir.appendingPathComponent("missing.bin"), seed: 1)
        } throws: { "\($0)".contains("Cannot read the ROM file") }
    }

    @Test func missingROMFolderTellsHowToInstall() throws {
        let empty = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect {
            _ = try ArcadeEnvironment(game: "pong", seed: 1, romDirectory: empty)
        } throws: { "\($0)".contains("make setup") }
    }

    @Test func badStickyProbabilityIsRejected() {
        #expect(throws: EnvironmentError.self) { try make(sticky: 1.5) }
    }
}
