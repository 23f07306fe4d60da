import ArenaSupport
import Foundation

/// What one agent step did.
public struct StepResult: Equatable, Sendable {
    /// The game's reward summed over the agent step's frames, unclipped (the score).
    public var reward: Double
    /// The reward the learner sees: clipped to [-1, 1] when the settings say so.
    public var trainingReward: Float
    /// The game ended (game over). No bootstrapping past it.
    public var terminated: Bool
    /// The episode hit the frame cap. Not a terminal state: learning may bootstrap past it.
    public var truncated: Bool
    /// A life was lost during this step (and the game goes on, or ended).
    public var lifeLost: Bool
    public var lives: Int

    public var episodeEnded: Bool { terminated || truncated }
    /// For learning: the state after this step counts as terminal (game over, or a lost life
    /// when the settings make life loss terminal).
    public func isTerminalForLearning(_ settings: PreprocessingSettings) -> Bool {
        terminated || (settings.terminalOnLifeLoss && lifeLost)
    }
}

/// An Atari game with the standard preprocessing: frame skip with a max over the last two frames,
/// grayscale resized to `screenSize`² by area interpolation, no-op and FIRE starts, the frame
/// cap. It hands out single frames; stacking is the agent's business (or `FrameStack`'s).
public final class AtariEnvironment {
    public let arcade: ArcadeEnvironment
    public let preprocessing: PreprocessingSettings
    public let seed: UInt64

    /// Agent steps and emulator frames of the current episode, and its unclipped return.
    public private(set) var episodeSteps = 0
    public private(set) var episodeFrames = 0
    public private(set) var episodeReturn = 0.0

    /// Called after every emulator frame (resets, no-ops and skipped frames included), e.g. to
    /// record a video of every frame. Nil in training.
    public var frameObserver: ((ArcadeEnvironment) -> Void)?

    var rng: SeededGenerator
    private var lastLives = 0
    private let resizer: AreaResizer
    private let fireAction: Int?
    // Buffers: two raw screens (the last two frames), their max, and the resized frame.
    private var rawA: [UInt8], rawB: [UInt8], pooled: [UInt8]
    private var frame: [UInt8]
    private var rawFlip = false  // which raw buffer holds the newest screen

    public var actionCount: Int { arcade.actionCount }
    public var frameSize: Int { preprocessing.screenSize * preprocessing.screenSize }
    public var gameID: String { arcade.gameID }

    public convenience init(game: String, emulator: EmulatorSettings, preprocessing: PreprocessingSettings,
                            seed: UInt64, romDirectory: URL? = nil) throws {
        let arcade = try ArcadeEnvironment(game: game, settings: emulator, seed: seed, romDirectory: romDirectory)
        try self.init(arcade: arcade, preprocessing: preprocessing, seed: seed)
    }

    public init(arcade: ArcadeEnvironment, preprocessing: PreprocessingSettings, seed: UInt64) throws {
        try preprocessing.validate()
        self.arcade = arcade
        self.preprocessing = preprocessing
        self.seed = seed
        rng = SeededGenerator(seed: seed, stream: "noop-starts")
        let n = arcade.screenSize
        rawA = [UInt8](repeating: 0, count: n)
        rawB = [UInt8](repeating: 0, count: n)
        pooled = [UInt8](repeating: 0, count: n)
        frame = [UInt8](repeating: 0, count: preprocessing.screenSize * preprocessing.screenSize)
        resizer = AreaResizer(sourceHeight: arcade.screenHeight, sourceWidth: arcade.screenWidth,
                              targetHeight: preprocessing.screenSize, targetWidth: preprocessing.screenSize)
        // As in the `wrap_deepmind` convention: games whose action 1 is FIRE and that have at least 3 actions.
        fireAction = (arcade.actionSet.count >= 3 && arcade.actionSet[1] == 1) ? 1 : nil
    }

    /// Starts a new episode: game reset, then `1...noopMax` NOOP frames, then FIRE where the
    /// game needs it. Returns after the observation is ready (`withFrame`).
    public func reset() throws {
        try arcade.reset()
        frameObserver?(arcade)
        episodeSteps = 0
        episodeFrames = 0
        episodeReturn = 0
        capture()
        capture()
        if preprocessing.noopMax > 0 {
            let noops = 1 + Int(rng.next() % UInt64(preprocessing.noopMax))
            for _ in 0..<noops {
                episodeReturn += Double(arcade.actALE(0))
                episodeFrames += 1
                frameObserver?(arcade)
                capture()
                if arcade.isGameOver { try arcade.reset(); episodeFrames = 0; episodeReturn = 0 }
            }
        }
        if preprocessing.fireOnReset, let fire = fireAction {
            for _ in 0..<preprocessing.frameSkip {
                episodeReturn += Double(arcade.act(fire))
                episodeFrames += 1
                frameObserver?(arcade)
                capture()
                if arcade.isGameOver { break }
            }
            if arcade.isGameOver { try arcade.reset(); episodeFrames = 0; episodeReturn = 0; capture() }
        }
        lastLives = arcade.lives
        makeObservation()
    }

    /// One agent step: the action for `frameSkip` frames (fewer if the game ends or the cap is
    /// reached), rewards summed, the last two frames max-pooled and resized. When the step loses
    /// a life and `fireOnLifeLoss` holds, FIRE follows for another `frameSkip` frames within the
    /// same step (its reward counts in the step's).
    @inline(__always)
    public func step(_ action: Int) -> StepResult {
        precondition(action >= 0 && action < arcade.actionCount,
                     "action must be in 0..<\(arcade.actionCount), got \(action)")
        let aleAction = arcade.actionSet[action]
        let skip = preprocessing.frameSkip
        var reward = 0
        var gameOver = false
        for i in 0..<skip {
            reward += arcade.actALE(aleAction)
            episodeFrames += 1
            frameObserver?(arcade)
            gameOver = arcade.isGameOver
            let last = gameOver || episodeFrames >= preprocessing.maxEpisodeFrames || i == skip - 1
            if last || i == skip - 2 { capture() }
            if last { break }
        }
        var lives = arcade.lives
        let lifeLost = lives < lastLives
        if lifeLost && !gameOver && preprocessing.fireOnLifeLoss, let fire = fireAction,
           episodeFrames < preprocessing.maxEpisodeFrames {
            // FIRE for one more agent step's frames, as at reset; the observation shows its end.
            for _ in 0..<skip {
                reward += arcade.act(fire)
                episodeFrames += 1
                frameObserver?(arcade)
                capture()
                gameOver = arcade.isGameOver
                if gameOver || episodeFrames >= preprocessing.maxEpisodeFrames { break }
            }
            lives = arcade.lives
        }
        episodeSteps += 1
        episodeReturn += Double(reward)
        makeObservation()
        lastLives = lives
        let truncated = !gameOver && episodeFrames >= preprocessing.maxEpisodeFrames
        let r = Double(reward)
        let training = preprocessing.learningReward(r)
        return StepResult(reward: r, trainingReward: training, terminated: gameOver, truncated: truncated,
                          lifeLost: lifeLost, lives: lives)
    }

    /// The current observation: `screenSize`² grayscale bytes, row-major.
    @inline(__always)
    public func withFrame<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try frame.withUnsafeBufferPointer(body)
    }

    /// Copies the current observation into `destination` (`frameSize` bytes).
    @inline(__always)
    public func copyFrame(into destination: UnsafeMutablePointer<UInt8>) {
        frame.withUnsafeBufferPointer { src in
            // safe because: src holds frameSize bytes and the caller provides as many.
            destination.update(from: src.baseAddress.unsafelyUnwrapped, count: src.count)
        }
    }

    /// Grabs the current screen into the older raw buffer, making it the newest.
    @inline(__always)
    private func capture() {
        rawFlip.toggle()
        if rawFlip {
            rawA.withUnsafeMutableBufferPointer { arcade.grayscale(into: $0.baseAddress.unsafelyUnwrapped) }
        } else {
            rawB.withUnsafeMutableBufferPointer { arcade.grayscale(into: $0.baseAddress.unsafelyUnwrapped) }
        }
    }

    @inline(__always)
    private func makeObservation() {
        let n = arcade.screenSize
        rawA.withUnsafeBufferPointer { a in
            rawB.withUnsafeBufferPointer { b in
                pooled.withUnsafeMutableBufferPointer { p in
                    frame.withUnsafeMutableBufferPointer { f in
                        // safe because: every buffer was allocated with the sizes used here.
                        let newest = rawFlip ? a.baseAddress.unsafelyUnwrapped : b.baseAddress.unsafelyUnwrapped
                        let source: UnsafePointer<UInt8>
                        if preprocessing.maxPoolLastTwoFrames {
                            FramePooling.max(a.baseAddress.unsafelyUnwrapped, b.baseAddress.unsafelyUnwrapped,
                                             into: p.baseAddress.unsafelyUnwrapped, count: n)
                            source = UnsafePointer(p.baseAddress.unsafelyUnwrapped)
                        } else {
                            source = newest
                        }
                        resizer.resize(source, into: f.baseAddress.unsafelyUnwrapped)
                    }
                }
            }
        }
    }

    // MARK: State for checkpoints

    /// Everything needed to continue this environment exactly: emulator (with its random state),
    /// our no-op generator, counters and the two raw screens.
    public struct State: Codable, Equatable, Sendable {
        public var emulator: [UInt8]
        public var rng: [UInt64]
        public var episodeSteps: Int
        public var episodeFrames: Int
        public var episodeReturn: Double
        public var lastLives: Int
        public var rawA: [UInt8]
        public var rawB: [UInt8]
        public var rawFlip: Bool
    }

    public func saveState() throws -> State {
        State(emulator: try arcade.cloneState(), rng: rng.state, episodeSteps: episodeSteps,
              episodeFrames: episodeFrames, episodeReturn: episodeReturn, lastLives: lastLives,
              rawA: rawA, rawB: rawB, rawFlip: rawFlip)
    }

    public func restoreState(_ s: State) throws {
        guard s.rawA.count == rawA.count, s.rawB.count == rawB.count, s.rng.count == 4 else {
            throw EnvironmentError("The saved environment state does not match this game's screen size; it belongs to another game or is damaged.")
        }
        try arcade.restoreState(s.emulator)
        rng.state = s.rng
        episodeSteps = s.episodeSteps
        episodeFrames = s.episodeFrames
        episodeReturn = s.episodeReturn
        lastLives = s.lastLives
        rawA = s.rawA
        rawB = s.rawB
        rawFlip = s.rawFlip
        makeObservation()
    }
}
