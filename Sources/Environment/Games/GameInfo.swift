/// One Atari 2600 game that ALE 0.12.1 can run, with its reference scores when it belongs
/// to the Atari-57 benchmark.
public struct GameInfo: Codable, Sendable, Equatable, Hashable {
    /// ALE's ROM id in snake_case (`pong`, `montezuma_revenge`): the ROM file stem and the join
    /// key with the reference table.
    public var id: String
    /// A display title ("Montezuma's Revenge"). Not an identifier.
    public var title: String
    /// Whether the game is one of the 57 of the Atari-57 benchmark.
    public var isAtari57: Bool
    /// Score of uniformly random actions under no-op starts (DQN Zoo `atari_data.py`); nil
    /// outside the Atari-57.
    public var random: Double?
    /// Professional human tester's score, the post-2015 57-game table (DQN Zoo
    /// `atari_data.py`); nil outside the Atari-57.
    public var human: Double?
    /// Nature-2015 DQN score (Mnih et al. 2015, Extended Data Table 2); nil for games that
    /// paper did not run.
    public var dqnNature: Double?

    public init(id: String, title: String, isAtari57: Bool, random: Double? = nil, human: Double? = nil,
                dqnNature: Double? = nil) {
        self.id = id
        self.title = title
        self.isAtari57 = isAtari57
        self.random = random
        self.human = human
        self.dqnNature = dqnNature
    }

    /// `(score - random) / (human - random)`: 0 is random play, 1 the human reference.
    /// Nil when the game has no reference scores.
    public func humanNormalized(_ score: Double) -> Double? {
        guard let random, let human, human != random else { return nil }
        return (score - random) / (human - random)
    }

    enum CodingKeys: String, CodingKey {
        case id, title, random, human
        case isAtari57 = "is_atari57"
        case dqnNature = "dqn_nature"
    }

    /// Writes every key, with `null` for missing scores, so JSON readers see one schema.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(title, forKey: .title)
        try c.encode(isAtari57, forKey: .isAtari57)
        try c.encode(random, forKey: .random)
        try c.encode(human, forKey: .human)
        try c.encode(dqnNature, forKey: .dqnNature)
    }
}
