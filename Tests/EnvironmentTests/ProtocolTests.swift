import Foundation
import Testing
@testable import Environment

@Suite struct ProtocolTests {
    @Test func nature2015() {
        let s = EvaluationProtocol.nature2015.settings
        #expect(s.emulator.stickyActionProbability == 0 && !s.emulator.fullActionSpace)
        #expect(s.preprocessing.noopMax == 30 && s.preprocessing.terminalOnLifeLoss && s.preprocessing.frameSkip == 4)
        #expect(s.evalEpsilon == 0.05 && s.evalMaxEpisodeFrames == 18_000)
        let e = s.evaluationPreprocessing
        #expect(!e.terminalOnLifeLoss && !e.clipRewards && e.maxEpisodeFrames == 18_000)
        // FIRE at reset and after a lost life, in training and evaluation alike.
        #expect(s.preprocessing.fireOnReset && s.preprocessing.fireOnLifeLoss && e.fireOnReset && e.fireOnLifeLoss)
    }

    @Test func settingsRecordedBeforeFireOnLifeLossReadAsWithout() throws {
        let now = EvaluationProtocol.nature2015.settings.preprocessing
        let data = try JSONEncoder().encode(now)
        #expect(try JSONDecoder().decode(PreprocessingSettings.self, from: data) == now)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["fireOnLifeLoss"] as? Bool == true)
        object["fireOnLifeLoss"] = nil
        let old = try JSONDecoder().decode(PreprocessingSettings.self, from: try JSONSerialization.data(withJSONObject: object))
        var expected = now
        expected.fireOnLifeLoss = false
        #expect(old == expected)
        // Every other key stays required: a record missing one is not silently defaulted.
        object["noopMax"] = nil
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(PreprocessingSettings.self, from: try JSONSerialization.data(withJSONObject: object))
        }
    }

    @Test func machado2018() {
        let s = EvaluationProtocol.machado2018.settings
        #expect(s.emulator.stickyActionProbability == 0.25 && s.emulator.fullActionSpace)
        #expect(!s.preprocessing.terminalOnLifeLoss && s.preprocessing.noopMax == 0)
        #expect(!s.preprocessing.fireOnReset && !s.preprocessing.fireOnLifeLoss)
        #expect(s.preprocessing.maxEpisodeFrames == 108_000 && s.evalMaxEpisodeFrames == 108_000)
    }

    /// Ablations change the protocol's preprocessing: only real changes count, one per key (the
    /// last wins), in key order, and the changed protocol is named for them.
    @Test func changesApplyAndNameTheChangedProtocol() throws {
        let base = EvaluationProtocol.nature2015.settings
        let s = try EvaluationProtocol.nature2015.settings(changing: ["noopMax=0", "fireOnLifeLoss=true", "fireOnLifeLoss = false"])
        #expect(s.name == "nature2015, fireOnLifeLoss=false, noopMax=0")
        #expect(!s.preprocessing.fireOnLifeLoss && s.preprocessing.noopMax == 0)
        var expected = base.preprocessing
        expected.fireOnLifeLoss = false
        expected.noopMax = 0
        #expect(s.preprocessing == expected && s.emulator == base.emulator && s.evalEpsilon == base.evalEpsilon)
        // Evaluation derives from the changed training preprocessing.
        #expect(!s.evaluationPreprocessing.fireOnLifeLoss)
        // A change to the protocol's own value is no change.
        #expect(try EvaluationProtocol.nature2015.settings(changing: ["fireOnLifeLoss=true"]) == base)
        #expect(try EvaluationProtocol.nature2015.settings(changing: []) == base)
        #expect(try PreprocessingSettings.canonicalChanges(["noopMax=0", "frameSkip=4", "clipRewards=false"], from: base.preprocessing)
                == ["clipRewards=false", "noopMax=0"])
    }

    @Test func badChangesAreRefusedWithASentence() {
        func refusal(_ change: String) -> String? {
            do { _ = try EvaluationProtocol.nature2015.settings(changing: [change]); return nil } catch { return "\(error)" }
        }
        #expect(refusal("fireOnLifeloss=false")?.contains("Unknown preprocessing setting 'fireOnLifeloss'") == true)
        #expect(refusal("fireOnLifeloss=false")?.contains("fireOnLifeLoss") == true)
        #expect(refusal("fireOnLifeLoss=no") == "Protocol change 'fireOnLifeLoss=no': fireOnLifeLoss is true or false, got 'no'.")
        #expect(refusal("noopMax=1.5") == "Protocol change 'noopMax=1.5': noopMax is a whole number, got '1.5'.")
        #expect(refusal("fireOnLifeLoss") == "Protocol change 'fireOnLifeLoss' is not of the form key=value (for example fireOnLifeLoss=false).")
        #expect(refusal("frameSkip=0") == "frameSkip must be at least 1, got 0.")
    }

    @Test func namesParseAndUnknownNamesListTheValidOnes() throws {
        #expect(try EvaluationProtocol.named("Nature2015") == .nature2015)
        #expect { try EvaluationProtocol.named("dopamine") } throws: {
            "\($0)" == "Unknown protocol 'dopamine'; choose one of nature2015, machado2018."
        }
    }
}
