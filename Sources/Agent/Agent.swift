// The Agent module: what acts in the arena and how DQN learns.
//
//   ArenaAgent.swift          the protocol the runner drives every agent through; ActionValueAgent; AgentStatistics
//   AgentFactory.swift        what the runner is given to build and record an agent; AgentCatalog: kind or
//                             "random" | preset name | JSON path -> a factory
//   RandomAgent.swift         uniformly random actions: the baseline
//   DQNConfig.swift           every DQN hyperparameter (agent steps), strict JSON decoding
//   DQNConfig+Loading.swift   validation, files, key=value overrides
//   DQNAgent.swift            epsilon-greedy acting, cadence (warm-up, update period, target sync)
//   DQNAgent+Checkpoint.swift exact save/restore (agent state, learner, replay)
//   ReplayMemory*.swift       circular store of single frames; stacks rebuilt at sampling; n-step; PER
//   SumTree.swift             the sum tree behind prioritized replay
import NeuralNet
