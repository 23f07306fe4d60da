import Foundation

/// How well the learned action values predict what the agent then collects: for every state an
/// evaluation episode visits, the network's Q(s_t, a_t) for the action taken beside the
/// discounted return that followed, sum over k of gamma^k r_(t+k), with the rewards the agent
/// learns from (clipped under nature2015). The estimated-against-true value comparison of van
/// Hasselt et al. (2016, Fig. 3). A value far above what follows points at overestimation or a
/// TD target that bootstraps where it should not (terminal handling); far below, at rewards or
/// discounts lost on the way; a low correlation, at values that do not yet tell states apart.
///
/// The returns end where the agent's learning episodes ended in training: at game over, and under
/// a protocol whose training makes a lost life terminal (nature2015) at every lost life too, as
/// the TD targets the values were learnt from did (evaluation itself plays on to game over).
///
/// Episodes cut by the episode cap have no return beyond the cap, so their last `horizon` states
/// (where gamma^horizon <= 0.01: the missing tail is at most 1% of a state's discounted sum) are
/// left out and counted apart, except those whose return ends at a lost life before the cap;
/// states of episodes that ended by game over all count.
public struct ValueCheck: Codable, Equatable, Sendable {
    public var gamma: Double
    /// States compared.
    public var states: Int
    /// States left out: within `horizon` steps of a cap, with no lost life ending their returns first.
    public var excludedStates: Int
    /// How often a realised return was ended before its episode's end, at a lost life the agent
    /// learnt as an episode's end (nil in checks written before this was recorded).
    public var learningEnds: Int?
    public var horizon: Int
    public var predictedMean: Double
    public var realisedMean: Double
    /// predictedMean - realisedMean.
    public var bias: Double
    public var meanAbsoluteError: Double
    /// Pearson correlation of predicted and realised values (nil when either does not vary).
    public var correlation: Double?
    /// The same means episode by episode, in evaluation order: where the values go wrong.
    public var episodes: [Episode]

    public struct Episode: Codable, Equatable, Sendable {
        public var states: Int
        public var predictedMean: Double
        public var realisedMean: Double
        enum CodingKeys: String, CodingKey {
            case states
            case predictedMean = "predicted_mean", realisedMean = "realised_mean"
        }
    }

    enum CodingKeys: String, CodingKey {
        case gamma, states, horizon, bias, correlation, episodes
        case excludedStates = "excluded_states", learningEnds = "learning_ends"
        case predictedMean = "predicted_mean", realisedMean = "realised_mean"
        case meanAbsoluteError = "mean_absolute_error"
    }

    /// Steps after which the discounted tail weighs at most 1%: the smallest h with gamma^h <= 0.01.
    /// Without discounting (gamma 1) no tail is negligible, so a capped episode's states all go.
    public static func horizon(gamma: Double) -> Int {
        guard gamma < 1 else { return Int.max }
        guard gamma > 0 else { return 1 }
        return Int((log(0.01) / log(gamma)).rounded(.up))
    }

    /// The realised discounted return of each step: G_t = r_t + gamma G_(t+1), G after the last
    /// step 0, and G_t = r_t where `ends[t]` (the learning episode ended after step t).
    public static func discountedReturns(rewards: [Float], gamma: Double, ends: [Bool] = []) -> [Double] {
        var out = [Double](repeating: 0, count: rewards.count)
        var g = 0.0
        for t in stride(from: rewards.count - 1, through: 0, by: -1) {
            if t < ends.count && ends[t] { g = 0 }
            g = Double(rewards[t]) + gamma * g
            out[t] = g
        }
        return out
    }

    /// Compares the episodes' recorded values (`EvaluatedEpisode.predictedValues`) with what
    /// followed. Nil when no episode recorded values or no state is left to compare.
    public static func measure(episodes: [EvaluatedEpisode], gamma: Double) -> ValueCheck? {
        let h = horizon(gamma: gamma)
        var predicted: [Double] = []
        var realised: [Double] = []
        var excluded = 0
        var learningEnds = 0
        var perEpisode: [Episode] = []
        for e in episodes {
            guard let values = e.predictedValues, let rewards = e.learningRewards else { continue }
            precondition(values.count == rewards.count, "one recorded value per step")
            let ends = e.learningEnds ?? []
            precondition(ends.isEmpty || ends.count == rewards.count, "one learning end flag per step")
            let returns = discountedReturns(rewards: rewards, gamma: gamma, ends: ends)
            learningEnds += ends.dropLast().filter { $0 }.count
            // A capped episode's states after its last learning end have returns that run into
            // the cap: the last `h` of them are left out.
            let afterLastEnd = (ends.lastIndex(of: true) ?? -1) + 1
            let kept = e.truncated ? min(values.count, max(afterLastEnd, values.count - h)) : values.count
            excluded += values.count - kept
            var p = 0.0, r = 0.0
            for t in 0..<kept {
                predicted.append(Double(values[t]))
                realised.append(returns[t])
                p += Double(values[t])
                r += returns[t]
            }
            let k = Double(max(kept, 1))
            perEpisode.append(Episode(states: kept, predictedMean: p / k, realisedMean: r / k))
        }
        guard !predicted.isEmpty else { return nil }
        let n = Double(predicted.count)
        let pm = predicted.reduce(0, +) / n
        let rm = realised.reduce(0, +) / n
        var mae = 0.0, sxy = 0.0, sxx = 0.0, syy = 0.0
        for (p, r) in zip(predicted, realised) {
            mae += abs(p - r)
            sxy += (p - pm) * (r - rm)
            sxx += (p - pm) * (p - pm)
            syy += (r - rm) * (r - rm)
        }
        let correlation = sxx > 0 && syy > 0 ? sxy / (sxx * syy).squareRoot() : nil
        return ValueCheck(gamma: gamma, states: predicted.count, excludedStates: excluded,
                          learningEnds: episodes.contains { $0.learningEnds != nil } ? learningEnds : nil, horizon: h,
                          predictedMean: pm, realisedMean: rm, bias: pm - rm, meanAbsoluteError: mae / n,
                          correlation: correlation, episodes: perEpisode)
    }

    /// One line for people: "value check (gamma 0.99, 12,345 states): ...".
    public var sentence: String {
        var s = String(format: "value check (gamma %g, %d states): predicted Q(s,a) %.3f, realised discounted return %.3f, bias %+.3f, mean |error| %.3f",
                       gamma, states, predictedMean, realisedMean, bias, meanAbsoluteError)
        s += correlation.map { String(format: ", correlation %.3f", $0) } ?? ", correlation undefined (no variation)"
        if let learningEnds, learningEnds > 0 { s += "; returns end at the \(learningEnds) lost lives training ended episodes at" }
        if excludedStates > 0 { s += "; \(excludedStates) states within \(horizon) steps of a cap left out" }
        return s
    }
}
