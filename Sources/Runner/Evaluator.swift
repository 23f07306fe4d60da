import Agent
import ArenaSupport
import Environment
import Foundation

/// One evaluation episode: its score and everything needed to replay it exactly.
public struct EvaluatedEpisode: Sendable {
    public var score: Double
    /// Agent steps.
    public var length: Int
    /// Emulator frames, no-op and FIRE starts included.
    public var frames: Int
    public var truncated: Bool
    /// The environment seed: with the settings and the actions it reproduces the episode.
    public var environmentSeed: UInt64
    /// Action indices into the environment's action set, one per agent step.
    public var actions: [UInt8]
    /// Unclipped reward of each agent step.
    public var rewards: [Float]
    /// SHA-256 of the emulator state after the last step.
    public var finalStateChecksum: String
    /// With a value check: the network's Q(s_t, a_t) for each step's state and action, and the
    /// reward the agent learns from at each step: as the protocol's *training* preprocessing
    /// gives it (clipped under nature2015), not as the evaluation's (never clipped). Nil otherwise.
    public var predictedValues: [Float]? = nil
    public var learningRewards: [Float]? = nil
    /// With a value check: the steps after which the agent, in training, learned the episode as
    /// over although the game went on (a lost life under a protocol whose training makes life
    /// loss terminal, such as nature2015). Its values estimate returns that end there, so the
    /// value check ends the realised returns there too. Nil otherwise (and in files without it).
    public var learningEnds: [Bool]? = nil
}

/// Summary statistics of evaluation scores against the reference table.
public struct EvaluationSummary: Codable, Equatable, Sendable {
    public struct Episode: Codable, Equatable, Sendable {
        public var score: Double
        public var length: Int
        public var frames: Int
    }
    public var game: String
    public var `protocol`: String
    public var agent: String
    public var seed: UInt64
    public var agentSteps: Int
    public var episodes: [Episode]
    public var mean: Double
    public var std: Double
    public var humanNormalized: Double?
    public var dqnNature: Double?
    public var random: Double?
    public var human: Double?
    /// The epsilon and episode cap the episodes were played with (the protocol's unless
    /// `arena evaluate` was told otherwise; then `protocol` names the change too).
    /// Absent in summaries written before they were recorded.
    public var evalEpsilon: Double?
    public var maxEpisodeFrames: Int?
    /// Learned values against realised returns, when `arena evaluate --value-check` asked for it.
    public var valueCheck: ValueCheck?
    /// A run's final evaluation only: the mean return of the training episodes of the run's
    /// last iteration (at the training epsilon; CleanRL's curves plot these).
    public var trainMeanReturn: Double?
    /// A run's final evaluation only: the same number of episodes at other evaluation epsilons,
    /// beside the protocol's figure (0.01, the training epsilon CleanRL reports at). Never the
    /// protocol's score.
    public var besideProtocol: [OtherEpsilon]?

    /// Episodes played at an epsilon other than the protocol's.
    public struct OtherEpsilon: Codable, Equatable, Sendable {
        public var evalEpsilon: Double
        public var episodes: Int
        public var mean: Double
        public var std: Double
        public var humanNormalized: Double?
        enum CodingKeys: String, CodingKey {
            case episodes, mean, std
            case evalEpsilon = "eval_epsilon", humanNormalized = "human_normalized"
        }
    }

    enum CodingKeys: String, CodingKey {
        case game, `protocol`, agent, seed, episodes, mean, std, random, human
        case agentSteps = "agent_steps", humanNormalized = "human_normalized", dqnNature = "dqn_nature"
        case evalEpsilon = "eval_epsilon", maxEpisodeFrames = "max_episode_frames", valueCheck = "value_check"
        case trainMeanReturn = "train_mean_return", besideProtocol = "beside_protocol"
    }

    public init(game: String, protocol: String, agent: String, seed: UInt64, agentSteps: Int, episodes: [EvaluatedEpisode],
                evalEpsilon: Double? = nil, maxEpisodeFrames: Int? = nil) {
        self.game = game
        self.protocol = `protocol`
        self.evalEpsilon = evalEpsilon
        self.maxEpisodeFrames = maxEpisodeFrames
        self.agent = agent
        self.seed = seed
        self.agentSteps = agentSteps
        self.episodes = episodes.map { Episode(score: $0.score, length: $0.length, frames: $0.frames) }
        let scores = episodes.map(\.score)
        mean = scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
        let m = mean
        // Sample standard deviation (n - 1), as papers report across episodes.
        std = scores.count > 1 ? (scores.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(scores.count - 1)).squareRoot() : 0
        let info = GameCatalog.info(game)
        humanNormalized = episodes.isEmpty ? nil : GameCatalog.humanNormalized(score: mean, game: game)
        dqnNature = info?.dqnNature
        random = info?.random
        human = info?.human
    }
}

extension EvaluationSummary {
    /// The summary of `episodes` played under `settings` (the protocol, or a changed one: its
    /// name, epsilon and cap are recorded as played), with the game's reference scores.
    public init(game: String, settings: ProtocolSettings, agent: String, seed: UInt64, agentSteps: Int,
                episodes: [EvaluatedEpisode]) {
        self.init(game: game, protocol: settings.name, agent: agent, seed: seed, agentSteps: agentSteps, episodes: episodes,
                  evalEpsilon: settings.evalEpsilon, maxEpisodeFrames: settings.evalMaxEpisodeFrames)
    }
}

/// Plays evaluation episodes: each on a fresh environment with its own seed (derived from the
/// run seed, the phase and the episode index), so any single episode can be replayed on its own.
public enum Evaluator {
    /// The seed of evaluation episode `episode` of phase `phase` in a run seeded with `seed`.
    public static func episodeSeed(runSeed: UInt64, phase: String, episode: Int) -> UInt64 {
        var g = SeededGenerator(seed: runSeed, stream: "eval-\(phase)-\(episode)")
        return g.next()
    }

    public static func run(agent: ArenaAgent, game: String, settings: ProtocolSettings, episodes: Int,
                           runSeed: UInt64, phase: String, romDirectory: URL? = nil, recordValues: Bool = false,
                           onEpisode: (Int, EvaluatedEpisode) throws -> Void = { _, _ in }) throws -> [EvaluatedEpisode] {
        var out: [EvaluatedEpisode] = []
        for i in 0..<episodes {
            let seed = episodeSeed(runSeed: runSeed, phase: phase, episode: i)
            let env = try AtariEnvironment(game: game, emulator: settings.emulator,
                                           preprocessing: settings.evaluationPreprocessing, seed: seed,
                                           romDirectory: romDirectory)
            guard env.actionCount == agent.actionCount else {
                throw RunError("The agent has \(agent.actionCount) actions but \(game) under \(settings.name) has \(env.actionCount); evaluate with the protocol and game the agent was trained on.")
            }
            let episode = try play(agent: agent, env: env, seed: seed,
                                   recordValuesUnder: recordValues ? settings.preprocessing : nil)
            out.append(episode)
            try onEpisode(i, episode)
        }
        return out
    }

    /// One full episode of `agent` in evaluation mode on `env` (reset here). With
    /// `recordValuesUnder`, the preprocessing the agent trained under (the protocol's, not `env`'s
    /// evaluation preprocessing), the agent's Q(s_t, a_t) is kept for each step (one more forward
    /// pass a step; the actions and scores are the same as without) with the learning reward and
    /// learning episode end that preprocessing gives each step; the agent must then be an
    /// `ActionValueAgent`. There is no default for it: values read against the evaluation's
    /// unclipped rewards and unbroken lives would measure a mismatch, not the agent.
    public static func play(agent: ArenaAgent, env: AtariEnvironment, seed: UInt64,
                            recordValuesUnder learning: PreprocessingSettings? = nil) throws -> EvaluatedEpisode {
        let valued = learning == nil ? nil : agent as? ActionValueAgent
        if learning != nil && valued == nil {
            throw RunError("A value check needs an agent with action values: \(agent.name) has none.")
        }
        try env.reset()
        var actions: [UInt8] = []
        var rewards: [Float] = []
        var values: [Float] = []
        var learningRewards: [Float] = []
        var learningEnds: [Bool] = []
        actions.reserveCapacity(4096)
        rewards.reserveCapacity(4096)
        var action = env.withFrame { agent.beginEpisode(frame: $0, training: false) }
        while true {
            if let valued { values.append(valued.currentActionValues()[action]) }
            let r = env.step(action)
            actions.append(UInt8(action))
            rewards.append(Float(r.reward))
            if valued != nil, let learning {
                learningRewards.append(learning.learningReward(r.reward))
                learningEnds.append(r.isTerminalForLearning(learning))
            }
            if r.episodeEnded {
                env.withFrame { agent.endEpisode(reward: r.trainingReward, frame: $0, terminated: r.terminated, truncated: r.truncated) }
                var episode = EvaluatedEpisode(score: env.episodeReturn, length: env.episodeSteps, frames: env.episodeFrames,
                                               truncated: r.truncated, environmentSeed: seed, actions: actions,
                                               rewards: rewards, finalStateChecksum: try env.arcade.stateChecksum())
                if valued != nil {
                    episode.predictedValues = values
                    episode.learningRewards = learningRewards
                    episode.learningEnds = learningEnds
                }
                return episode
            }
            // The evaluation preprocessing never makes a life loss terminal: this passes false.
            action = env.withFrame { agent.step(reward: r.trainingReward, frame: $0, lifeLost: r.isTerminalForLearning(env.preprocessing)) }
        }
    }
}
