import Foundation
import Testing
@testable import NeuralNet

/// Interoperability: a file written by Swift, read by the `safetensors` Python package, with the
/// Q-values recomputed by numpy (scripts/check_safetensors.py); and .npy files written by numpy.
@Suite struct PythonCheckTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs python3 with arguments; returns (exit status, stdout + stderr).
    static func python(_ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "could not start python3: \(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func requirePython() -> Bool {
        let (status, output) = python(["-c", "import safetensors, numpy"])
        if status != 0 {
            Issue.record("python3 with the safetensors and numpy packages is needed for this test; run `make test`, which installs them (pip install safetensors numpy). \(output)")
            return false
        }
        return true
    }

    /// Plain and dueling heads in F32, and a dueling head in F16 (Swift evaluates the file it wrote,
    /// read back; numpy reads the same half values).
    @Test(arguments: [(false, false), (true, false), (true, true)])
    func numpyRecomputesSwiftsQValues(dueling: Bool, half: Bool) throws {
        guard Self.requirePython() else { return }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let learner = QLearner(network: QNetworkConfig(actions: 5, dueling: dueling), batchSize: 3, seed: 17)
        // Larger than the default init so the Q-values are O(1) and a 1e-4 match means something.
        learner.parameters = learner.parameters.map { $0 * 2.5 }
        let weights = dir.appendingPathComponent("w.safetensors")
        if half {
            try WeightsFile.save(network: learner.network, parameters: learner.parameters, to: weights, halfPrecision: true)
            try learner.loadWeights(from: weights)
        } else {
            try learner.saveWeights(to: weights)
        }
        let count = 3
        let obs = randomBytes(count * QLearner.observationBytes, seed: 18)
        var q = [Float](repeating: 0, count: count * 5)
        obs.withUnsafeBufferPointer { o in q.withUnsafeMutableBufferPointer { q in
            learner.qValues(observations: o.base, count: count, into: q.baseAddress!)
        } }
        #expect(q.map(abs).max()! > 0.05, "Q-values too small for a meaningful comparison: \(q)")
        let obsURL = dir.appendingPathComponent("obs.npy")
        try Data(NPY.encodeUInt8(obs, shape: [count, 4, 84, 84])).write(to: obsURL)
        let expectedURL = dir.appendingPathComponent("q.json")
        let rows = (0..<count).map { n in "[" + (0..<5).map { "\(q[n * 5 + $0])" }.joined(separator: ",") + "]" }
        try Data(("[" + rows.joined(separator: ",") + "]").utf8).write(to: expectedURL)
        let script = Self.repoRoot.appendingPathComponent("scripts/check_safetensors.py").path
        let (status, output) = Self.python([script, weights.path, "--observation", obsURL.path,
                                            "--expected", expectedURL.path, "--tolerance", "1e-4"])
        #expect(status == 0, "check_safetensors.py: \(output)")

        // The check can fail: a perturbed expectation is rejected.
        var wrong = q
        wrong[2] += 1e-3
        let wrongRows = (0..<count).map { n in "[" + (0..<5).map { "\(wrong[n * 5 + $0])" }.joined(separator: ",") + "]" }
        try Data(("[" + wrongRows.joined(separator: ",") + "]").utf8).write(to: expectedURL)
        let (badStatus, _) = Self.python([script, weights.path, "--observation", obsURL.path, "--expected", expectedURL.path])
        #expect(badStatus == 1)
    }

    @Test func readsArraysNumpyWrote() throws {
        guard Self.requirePython() else { return }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.npy").path
        let f32 = dir.appendingPathComponent("f.npy").path
        let (status, output) = Self.python(["-c", """
            import numpy as np
            np.save('\(path)', (np.arange(2*4*84*84) % 251).astype(np.uint8).reshape(2, 4, 84, 84))
            np.save('\(f32)', np.zeros((4, 84, 84), dtype=np.float32))
            """])
        try #require(status == 0, "\(output)")
        let array = try NPY.readUInt8(from: URL(fileURLWithPath: path))
        #expect(array.shape == [2, 4, 84, 84])
        let expected: [UInt8] = (0..<(2 * 4 * 84 * 84)).map { (i: Int) -> UInt8 in UInt8(i % 251) }
        #expect(array.values == expected)
        #expect(throws: NPYError.self) { try NPY.readUInt8(from: URL(fileURLWithPath: f32)) }
    }
}
