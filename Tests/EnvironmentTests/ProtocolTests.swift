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
    }

    @Test func machado2018() {
        let s = EvaluationProtocol.machado2018.settings
        #expect(s.emulator.stickyActionProbability == 0.25 && s.emulator.fullActionSpace)
        #expect(!s.preprocessing.terminalOnLifeLoss && s.preprocessing.noopMax == 0)
        #expect(s.preprocessing.maxEpisodeFrames == 108_000 && s.evalMaxEpisodeFrames == 108_000)
    }

    @Test func namesParseAndUnknownNamesListTheValidOnes() throws {
        #expect(try EvaluationProtocol.named("Nature2015") == .nature2015)
        #expect { try EvaluationProtocol.named("dopamine") } throws: {
            "\($0)" == "Unknown protocol 'dopamine'; choose one of nature2015, machado2018."
        }
    }
}
