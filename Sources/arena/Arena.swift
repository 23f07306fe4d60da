import ArgumentParser

@main
struct Arena: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arena",
        abstract: "A reinforcement-learning arena for Atari 2600 games over the real ALE.",
        subcommands: [GamesCommand.self, PlayCommand.self, TrainCommand.self, EvaluateCommand.self,
                      ReplayCommand.self, CompareCommand.self, SweepCommand.self, WeightsCommand.self, BenchCommand.self])
}
