/// The TensorBoard tags of a run, in one place (README's "Results folder" lists them).
public enum MetricName {
    public static let trainEpisodeReturn = "train/episode_return"
    public static let trainEpisodeLength = "train/episode_length"
    public static let trainMeanReturn = "train/mean_return"
    public static let trainLoss = "train/loss"
    public static let trainQMean = "train/q_mean"
    public static let trainEpsilon = "train/epsilon"
    public static let trainReplayFill = "train/replay_fill"
    public static let evalMeanReturn = "eval/mean_return"
    public static let evalStdReturn = "eval/std_return"
    public static let evalHumanNormalized = "eval/human_normalized"
    public static let stepsPerSecond = "perf/steps_per_second"
    /// Before each of the agent's own diagnostics (`agent/td_error`, `agent/q/0`, ...).
    public static let agentPrefix = "agent/"
}
