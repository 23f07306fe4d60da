import ArenaSupport
import Foundation
import Testing
@testable import Agent
import NeuralNet

@Suite struct DQNConfigTests {
    static var agentsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("agents")
    }

    static func decode(_ json: String) throws -> DQNConfig { try DQNConfig.decode(Data(json.utf8)) }

    @Test func everyFieldRoundTripsAndTheKeyListsAreComplete() throws {
        var c = DQNConfig()
        c.gamma = 0.5; c.nStep = 3; c.optimizer.kind = .adam; c.loss = .mse; c.prioritized.enabled = true
        c.gradientClipNorm = 10; c.dueling = true
        let data = try JSONEncoder().encode(c)
        #expect(try JSONDecoder().decode(DQNConfig.self, from: data) == c)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(Set(object.keys) == Set(DQNConfig.keys))
        #expect(Set((object["optimizer"] as? [String: Any])?.keys.map { $0 } ?? []) == Set(OptimizerSettings.keys))
        #expect(Set((object["prioritized"] as? [String: Any])?.keys.map { $0 } ?? []) == Set(PrioritizedReplayConfig.keys))
    }

    @Test func missingKeysTakeTheDefaults() throws {
        let c = try Self.decode(#"{"batchSize": 64, "optimizer": {"kind": "adam"}}"#)
        var expected = DQNConfig()
        expected.batchSize = 64
        expected.optimizer.kind = .adam
        #expect(c == expected)
        #expect(try Self.decode("{}") == DQNConfig())
    }

    @Test func unknownKeysAreRejectedByName() {
        let top = #expect(throws: ConfigurationError.self) { try Self.decode(#"{"batchsize": 64, "gama": 0.9}"#) }
        #expect(top?.description.contains("'batchsize'") == true && top?.description.contains("'gama'") == true)
        let nested = #expect(throws: ConfigurationError.self) { try Self.decode(#"{"optimizer": {"lr": 0.1}}"#) }
        #expect(nested?.description.contains("'optimizer.lr'") == true)
        let per = #expect(throws: ConfigurationError.self) { try Self.decode(#"{"prioritized": {"beta": 0.1}}"#) }
        #expect(per?.description.contains("'prioritized.beta'") == true)
        let kind = #expect(throws: ConfigurationError.self) { try Self.decode(#"{"optimizer": {"kind": "sgd"}}"#) }
        #expect(kind?.description.contains("'sgd'") == true && kind?.description.contains("adam") == true)
    }

    @Test func wrongTypesAndBrokenJSONAreSentences() {
        let type = #expect(throws: ConfigurationError.self) { try Self.decode(#"{"batchSize": "big"}"#) }
        #expect(type?.description.contains("'batchSize'") == true && type?.description.contains("whole number") == true)
        let broken = #expect(throws: ConfigurationError.self) { try Self.decode(#"{"batchSize": 32"#) }
        #expect(broken?.description.contains("not valid JSON") == true)
    }

    @Test func validationNamesTheBadValue() {
        var c = DQNConfig()
        c.batchSize = 0
        let e = #expect(throws: ConfigurationError.self) { try c.validate() }
        #expect(e?.description.contains("batchSize must be at least 1, got 0") == true)
        c = DQNConfig(); c.gamma = 1.5; c.optimizer.learningRate = -1; c.replayCapacity = 3
        #expect(c.problems().count == 3)
        #expect(c.problems().contains("gamma must be between 0 and 1, got 1.5"))
        #expect(c.problems().contains("replayCapacity must be at least stackDepth + nStep + 1 = 6, got 3"))
        #expect(DQNConfig().problems().isEmpty)
        // What the learner cannot use, each refused by name.
        c = DQNConfig(); c.batchSize = 64; c.warmupSteps = 32; c.nStep = 0; c.targetUpdatePeriod = 0; c.evalEpsilon = 1.5
        #expect(c.problems() == [
            "nStep must be at least 1, got 0",
            "warmupSteps must be at least batchSize (64), got 32: the first update samples a batch from what warm-up stored",
            "targetUpdatePeriod must be at least 1, got 0",
            "evalEpsilon must be between 0 and 1, got 1.5",
        ])
    }

    @Test func overridesApplyByDottedKeyAndRejectUnknownKeys() throws {
        var c = DQNConfig()
        try c.apply(overrides: ["batchSize=64", "optimizer.kind=adam", "optimizer.learningRate=1e-4",
                                "prioritized.enabled=true", "loss=mse", "gamma=1", "doubleDQN=true"])
        #expect(c.batchSize == 64 && c.optimizer.kind == .adam && c.optimizer.learningRate == 1e-4)
        #expect(c.prioritized.enabled && c.loss == .mse && c.gamma == 1 && c.doubleDQN)
        let unknown = #expect(throws: ConfigurationError.self) { try c.apply(overrides: ["batchsize=3"]) }
        #expect(unknown?.description.contains("'batchsize'") == true)
        let nested = #expect(throws: ConfigurationError.self) { try c.apply(overrides: ["optimizer.rate=3"]) }
        #expect(nested?.description.contains("'rate'") == true)
        let type = #expect(throws: ConfigurationError.self) { try c.apply(overrides: ["batchSize=many"]) }
        #expect(type?.description.contains("'batchSize'") == true)
        #expect(throws: ConfigurationError.self) { try c.apply(overrides: ["batchSize"]) }
        #expect(throws: ConfigurationError.self) { try c.apply(overrides: ["optimizer=adam"]) }
        #expect(c.batchSize == 64, "a failed override leaves the configuration unchanged")
    }

    @Test func precedenceIsDefaultsThenFileThenOverrides() throws {
        let dir = try ReplayCheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("mine.json")
        try Data(#"{"batchSize": 64, "warmupSteps": 100}"#.utf8).write(to: file)
        let c = try DQNConfig.resolve(file: file, overrides: ["warmupSteps=70"])
        #expect(c.batchSize == 64 && c.warmupSteps == 70 && c.gamma == DQNConfig().gamma)
        let bad = #expect(throws: ConfigurationError.self) { try DQNConfig.resolve(file: file, overrides: ["batchSize=0"]) }
        #expect(bad?.description.contains("batchSize must be at least 1, got 0") == true)
        let missing = #expect(throws: ConfigurationError.self) { try DQNConfig.load(from: dir.appendingPathComponent("nope.json")) }
        #expect(missing?.description.contains("does not exist") == true)
    }

    @Test func epsilonHoldsThroughWarmupThenFallsLinearly() {
        var c = DQNConfig()
        c.warmupSteps = 100; c.epsilonDecaySteps = 1000; c.epsilonStart = 1; c.epsilonEnd = 0.1
        #expect(c.epsilon(atStep: 0) == 1 && c.epsilon(atStep: 100) == 1)
        #expect(abs(c.epsilon(atStep: 600) - 0.55) < 1e-12)
        #expect(c.epsilon(atStep: 1100) == 0.1 && c.epsilon(atStep: 10_000) == 0.1)
        c.epsilonDecaySteps = 0
        #expect(c.epsilon(atStep: 101) == 0.1)
    }

    /// The presets and the candidates scripts/learning-runs.sh trains (a bad key there would stop
    /// a night of runs at its step). On a CPU without AVX512_BF16 a bf16 preset is refused for
    /// that reason alone, and its fp32 twin (what `make run` and learning-runs.sh run there)
    /// validates.
    @Test func everyPresetAndCandidateLoadsAndValidates() throws {
        func jsonFiles(_ dir: URL) throws -> [URL] {
            try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil).filter { $0.pathExtension == "json" }
        }
        let presets = try jsonFiles(Self.agentsDirectory)
        let candidates = try jsonFiles(Self.agentsDirectory.appendingPathComponent("candidates"))
        #expect(presets.count >= 3 && candidates.count >= 1)
        for file in presets + candidates {
            var c = try DQNConfig.load(from: file)
            if !c.precision.isSupported {
                let refused = c.problems()
                #expect(refused.count == 1 && refused[0].hasPrefix("precision 'bf16' needs a CPU with AVX512_BF16"),
                        "\(file.lastPathComponent): \(refused)")
                c.precision = .fp32
            }
            #expect(c.problems().isEmpty, "\(file.lastPathComponent): \(c.problems())")
        }
    }

    /// Mnih et al. 2015, Extended Data Table 1, restated here by hand (not from the code defaults).
    @Test func naturePresetIsThePaper() throws {
        let c = try DQNConfig.load(from: Self.agentsDirectory.appendingPathComponent("dqn-nature.json"))
        #expect(c.replayCapacity == 1_000_000 && c.batchSize == 32 && c.targetUpdatePeriod == 10_000)
        #expect(c.gamma == 0.99 && c.updatePeriod == 4 && c.warmupSteps == 50_000)
        #expect(c.optimizer.kind == .rmspropCentered && c.optimizer.learningRate == 0.00025)
        #expect(c.optimizer.decay == 0.95 && c.optimizer.epsilon == 0.01)
        #expect(c.epsilonStart == 1.0 && c.epsilonEnd == 0.1 && c.epsilonDecaySteps == 1_000_000)
        #expect(c.evalEpsilon == 0.05 && c.loss == .huber && c.stackDepth == 4 && c.nStep == 1)
        #expect(!c.doubleDQN && !c.dueling && !c.prioritized.enabled && c.gradientClipNorm == 0)
        let nn = c.optimizerConfig
        #expect(nn == .rmspropCentered(lr: 2.5e-4, decay: 0.95, epsilon: 0.01))
    }

    @Test func cpuFastPresetIsWhatItsReadmeSays() throws {
        let c = try DQNConfig.load(from: Self.agentsDirectory.appendingPathComponent("dqn-cpu-fast.json"))
        #expect(c.optimizer.kind == .adam && c.optimizer.learningRate == 1e-4 && c.optimizer.epsilon == 1.5e-4)
        #expect(c.replayCapacity == 100_000 && c.targetUpdatePeriod == 2_000 && c.warmupSteps == 20_000)
        #expect(c.epsilonEnd == 0.01 && c.epsilonDecaySteps == 250_000 && c.evalEpsilon == 0.05)
        #expect(c.doubleDQN && c.dueling && c.nStep == 3 && c.updatePeriod == 4)
    }

    /// The first recipe (`make run`'s preset until recipe2): dqn-cpu-fast with Adam's epsilon 1e-8, bf16 GEMMs and oneDNN's
    /// convolutions (agents/README.md says why), and nothing else changed.
    @Test func cpuRecipePresetIsCpuFastWithTheMeasuredChanges() throws {
        let recipe = try DQNConfig.load(from: Self.agentsDirectory.appendingPathComponent("dqn-cpu-recipe.json"))
        #expect(recipe.optimizer.epsilon == 1e-8 && recipe.precision == .bf16 && recipe.kernels == .onednn)
        var fast = try DQNConfig.load(from: Self.agentsDirectory.appendingPathComponent("dqn-cpu-fast.json"))
        fast.optimizer.epsilon = 1e-8
        fast.precision = .bf16
        fast.kernels = .onednn
        #expect(fast == recipe)
    }

    /// recipe2 (`make run`'s preset from the update-every-2 candidate's adoption to recipe3's): dqn-cpu-recipe with an
    /// update every 2 agent steps and the target synced every 1,000 agent steps (still every 500
    /// updates), nothing else changed; and the candidate file the adoption measured is the same
    /// configuration, so its runs stand for this preset's.
    @Test func cpuRecipe2PresetIsTheRecipeWithTwiceTheUpdates() throws {
        let dir = Self.agentsDirectory
        let recipe2 = try DQNConfig.load(from: dir.appendingPathComponent("dqn-cpu-recipe2.json"))
        #expect(recipe2.updatePeriod == 2 && recipe2.targetUpdatePeriod == 1_000)
        var recipe = try DQNConfig.load(from: dir.appendingPathComponent("dqn-cpu-recipe.json"))
        #expect(recipe.updatePeriod == 4 && recipe.targetUpdatePeriod == 2_000)
        recipe.updatePeriod = 2
        recipe.targetUpdatePeriod = 1_000
        #expect(recipe == recipe2)
        let candidate = try DQNConfig.load(from: dir.appendingPathComponent("candidates/cpu-recipe-update2.json"))
        #expect(candidate == recipe2)
    }

    /// recipe3 (`make run`'s preset) is recipe2 training down to the evaluation's epsilon 0.05
    /// instead of 0.01, and the candidate whose Pong seeds adopted it is the same file: its runs
    /// keep the candidate's name, so this pin is what lets them stand for the preset.
    @Test func cpuRecipe3PresetIsRecipe2TrainingDownToTheEvaluationEpsilon() throws {
        let dir = Self.agentsDirectory
        let recipe3 = try DQNConfig.load(from: dir.appendingPathComponent("dqn-cpu-recipe3.json"))
        #expect(recipe3.epsilonEnd == recipe3.evalEpsilon && recipe3.epsilonEnd == 0.05)
        var recipe2 = try DQNConfig.load(from: dir.appendingPathComponent("dqn-cpu-recipe2.json"))
        #expect(recipe2.epsilonEnd == 0.01)
        recipe2.epsilonEnd = 0.05
        #expect(recipe2 == recipe3)
        let candidate = try DQNConfig.load(from: dir.appendingPathComponent("candidates/cpu-recipe2-epsilon-end-0.05.json"))
        #expect(candidate == recipe3)
    }
}

@Suite struct AgentCatalogTests {
    @Test func namesResolveToPresetsFilesOrRandom() throws {
        let dir = DQNConfigTests.agentsDirectory
        let random = try AgentCatalog.resolve("random", agentsDirectory: dir)
        #expect(random.kind == "random" && random.name == "random")
        let nature = try AgentCatalog.resolve("dqn-nature", agentsDirectory: dir, overrides: ["batchSize=16"])
        #expect(nature.kind == "dqn" && nature.name == "dqn-nature")
        let config = try DQNConfig.decode(JSONEncoder().encode(nature.configuration))
        #expect(config.batchSize == 16 && config.replayCapacity == 1_000_000)
        let byPath = try AgentCatalog.resolve(dir.appendingPathComponent("dqn-cpu-fast.json").path, agentsDirectory: dir)
        #expect(byPath.name == "dqn-cpu-fast")
        let unknown = #expect(throws: ConfigurationError.self) { try AgentCatalog.resolve("dqn-natur", agentsDirectory: dir) }
        #expect(unknown?.description.contains("dqn-nature") == true)
        let missing = #expect(throws: ConfigurationError.self) { try AgentCatalog.resolve("nowhere/mine.json", agentsDirectory: dir) }
        #expect(missing?.description.contains("does not exist") == true)
        #expect(throws: ConfigurationError.self) { try AgentCatalog.resolve("random", agentsDirectory: dir, overrides: ["gamma=1"]) }
        let agent = try random.makeAgent(AgentContext(actionCount: 4, seed: 1))
        #expect(agent.name == "random" && agent.actionCount == 4)
    }

    /// A recorded kind and configuration rebuild the same factory; an unknown kind is refused by name.
    @Test func recordedKindsRebuildTheirFactory() throws {
        let dir = DQNConfigTests.agentsDirectory
        let fast = try AgentCatalog.resolve("dqn-cpu-fast", agentsDirectory: dir)
        let rebuilt = try AgentCatalog.factory(kind: fast.kind, name: fast.name, configuration: fast.configuration)
        #expect(rebuilt.configuration == fast.configuration && rebuilt.sameConfiguration(as: fast.configuration))
        // The evaluation epsilon plays no part in training: a record that differs only there resumes.
        var c = try DQNConfig.decode(JSONEncoder().encode(fast.configuration))
        c.evalEpsilon = 0.001
        #expect(fast.sameConfiguration(as: try JSONValue(encoding: c)))
        c.batchSize = 64
        #expect(!fast.sameConfiguration(as: try JSONValue(encoding: c)))
        let unknown = #expect(throws: ConfigurationError.self) { try AgentCatalog.factory(kind: "ppo", name: "x", configuration: .object([:])) }
        #expect(unknown?.description.contains("'ppo'") == true)
    }
}

@Suite struct DQNPrecisionSettingTests {
    @Test func precisionIsAKeyWithFP32AsDefaultAndUnknownValuesAreSentences() throws {
        #expect(try DQNConfigTests.decode("{}").precision == .fp32)
        #expect(try DQNConfigTests.decode(#"{"precision": "bf16"}"#).precision == .bf16)
        let encoded = String(decoding: try JSONEncoder().encode(DQNConfig()), as: UTF8.self)
        #expect(encoded.contains(#""precision":"fp32""#))
        do {
            _ = try DQNConfigTests.decode(#"{"precision": "fp16"}"#)
            Issue.record("fp16 was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("'fp16'") && error.description.contains("fp32, bf16"), "\(error.description)")
        }
        // bf16 validates exactly when this CPU can run it; otherwise validate() names the value.
        var config = DQNConfig()
        config.precision = .bf16
        if Precision.bf16.isSupported {
            try config.validate()
        } else {
            #expect(throws: ConfigurationError.self) { try config.validate() }
            #expect(config.problems().contains { $0.contains("'bf16'") && $0.contains("AVX512_BF16") })
        }
    }
}

@Suite struct DQNKernelsSettingTests {
    @Test func kernelsIsAKeyWithArenaAsDefaultAndUnknownValuesAreSentences() throws {
        #expect(try DQNConfigTests.decode("{}").kernels == .arena)
        #expect(try DQNConfigTests.decode(#"{"kernels": "onednn"}"#).kernels == .onednn)
        let encoded = String(decoding: try JSONEncoder().encode(DQNConfig()), as: UTF8.self)
        #expect(encoded.contains(#""kernels":"arena""#))
        do {
            _ = try DQNConfigTests.decode(#"{"kernels": "cudnn"}"#)
            Issue.record("cudnn was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("'cudnn'") && error.description.contains("arena, onednn"), "\(error.description)")
        }
        var config = DQNConfig()
        config.kernels = .onednn
        try config.validate()  // the set-up installs libdnnl, so oneDNN runs here
    }

    /// A run recorded before the setting existed (no "kernels" key) is the same configuration as
    /// today's default, so it resumes; one recorded with onednn is not an arena run.
    @Test func aConfigurationRecordedWithoutTheKeyResumesAsArena() throws {
        let config = DQNConfig()
        let factory = DQNAgent.factory(name: "x", config: config)
        guard case var .object(fields) = try JSONValue(encoding: config) else { Issue.record("not an object"); return }
        fields.removeValue(forKey: "kernels")
        #expect(factory.sameConfiguration(as: .object(fields)))
        fields["kernels"] = .string("onednn")
        #expect(!factory.sameConfiguration(as: .object(fields)))
    }

    /// Evaluation only acts, on our fp32 kernels: an agent trained with oneDNN in bf16 evaluates
    /// with neither.
    @Test func anEvaluationAgentActsOnOurFP32Kernels() throws {
        var config = DQNConfig()
        config.kernels = .onednn
        if Precision.bf16.isSupported { config.precision = .bf16 }
        let agent = try DQNAgent.evaluationAgent(config: config, actionCount: 3, epsilon: 0.05, seed: 1, name: "x")
        #expect(agent.learner.kernels == .arena && agent.learner.precision == .fp32)
    }
}
