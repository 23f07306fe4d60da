import Agent
import ArgumentParser
import Foundation
import NeuralNet

/// `arena bench agent`: the DQN update and action-selection speed (a benchmark, not a test).
/// Run it with OPENBLAS_CORETYPE unset (`env -u OPENBLAS_CORETYPE`), as on a user's machine.
struct BenchAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Time one DQN update (batch 32) and one action selection; compare with PyTorch on this machine.",
        discussion: "Run with OPENBLAS_CORETYPE unset: env -u OPENBLAS_CORETYPE arena bench agent --json")

    @Flag(help: "Print one JSON object.")
    var json = false
    @Option(help: "OpenBLAS threads.")
    var threads = 2
    @Option(help: "Update lanes: N >= 2 runs N pieces of the batch side by side, one per thread (the trainer's choice: as many as its threads), 1 threads each GEMM through OpenBLAS. Default: --threads.")
    var lanes: Int?
    @Option(help: "Timed updates (the median is reported).")
    var updates = 60
    @Option(help: "Timed action selections (the median is reported).")
    var acts = 400
    @Option(help: "Actions of the network.")
    var actions = 6
    @Flag(help: "Dueling head.")
    var dueling = false
    @Flag(help: "Double DQN targets (one more forward pass on s').")
    var double = false
    @Flag(help: "Also time each GEMM shape of a plain batch-32 update on its own.")
    var gemmBreakdown = false
    @Flag(help: ArgumentHelp("Also list every pass of one update (one lane, one thread) with its FLOPs, time and GFLOP/s beside this machine's one-thread sgemm rate.",
                             discussion: "Each conv/linear forward, weight gradient and input gradient, patch building, bf16 weight packing, copies, the loss, the gradient norm and the optimizer step (with clipping)."))
    var layers = false
    @Option(help: "JSON printed by Benchmarks/pytorch_reference.py in the same session (same threads, head and targets): the PyTorch figures to compare with. Without it the issue's figures (16.2 ms, 273 us, measured on another machine) are shown.")
    var pytorch: String?
    @Option(help: "How the update's GEMMs multiply: fp32 (OpenBLAS) or bf16 (bf16 products, fp32 accumulation; needs AVX512_BF16).")
    var precision: Precision = .fp32
    @Option(help: "What runs the update's convolutions: arena (ours: patch matrices and GEMMs) or onednn (oneDNN's primitives, libdnnl).")
    var kernels: Kernels = .arena
    @Option(help: "Transitions written into a replay memory to measure its resident size (0: skip; about 7 GB at 1M).")
    var replayTransitions: Int = 1_000_000

    func validate() throws {
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be between 1 and 64, got \(threads).") }
        if let lanes, !(1...32).contains(lanes) { throw ValidationError("--lanes must be between 1 and 32 (the batch size), got \(lanes).") }
        guard updates >= 1, acts >= 1 else { throw ValidationError("--updates and --acts must be at least 1.") }
        guard (1...256).contains(actions) else { throw ValidationError("--actions must be between 1 and 256, got \(actions).") }
        if let reason = precision.unsupportedReason { throw ValidationError("--precision: " + reason) }
        if let reason = kernels.unsupportedReason { throw ValidationError("--kernels: " + reason) }
    }

    func run() throws {
        // Read the reference first: a wrong file should not cost a whole benchmark.
        let reference = try pytorch.map { path in
            let reference = try PyTorchReference.load(path)
            guard reference.threads == threads, reference.dueling == dueling, reference.double_dqn == double else {
                throw ValidationError("\(path) was measured with \(reference.threads) threads, dueling \(reference.dueling), double \(reference.double_dqn); run this benchmark with the same settings.")
            }
            return reference
        }
        var result = AgentBenchmark.run(threads: threads, lanes: lanes ?? threads, updates: updates, acts: acts,
                                        network: QNetworkConfig(actions: actions, dueling: dueling), doubleDQN: double,
                                        precision: precision, kernels: kernels)
        if let reference {
            result.compare(with: reference.update_ms, actUs: reference.act_us, source: "PyTorch \(reference.torch), measured")
        }
        if replayTransitions > 0 {
            let footprint = try ReplayMemory.benchmarkBytesPerTransition(transitions: replayTransitions, prioritized: false)
            result.replay_bytes_per_transition = Int(footprint.bytesPerTransition.rounded())
            result.replay_resident_bytes_1m = Int(footprint.residentBytesAt1M.rounded())
        }
        if gemmBreakdown {
            BLAS.setThreads(threads)
            print(AgentBenchmark.gemmBreakdown())
        }
        if layers {
            print(AgentBenchmark.passTable(network: QNetworkConfig(actions: actions, dueling: dueling), doubleDQN: double,
                                           updates: max(5, min(updates, 30)), precision: precision, kernels: kernels))
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print(result.text)
        }
    }
}

/// The measurements `arena bench agent` reports. The replay fields are hooks filled by the replay
/// benchmark (nil until then).
struct AgentBenchResult: Codable {
    var cpu: String
    var openblas_core: String
    var openblas_coretype_env: String?
    var threads: Int
    /// 2: the update ran as two half-batches side by side; 1: as one piece.
    var lanes: Int
    var batch_size: Int
    var dueling: Bool
    var double_dqn: Bool
    /// Median milliseconds of one full update (target forward, online forward, Huber loss, backward, step).
    var update_ms: Double
    var update_ms_min: Double
    /// Median process CPU time of one update (all threads; robust to other processes' load,
    /// but includes OpenBLAS's spinning threads).
    var update_cpu_ms: Double
    /// Median microseconds of Q-values for one observation, as the trainer acts (with two or more
    /// lanes: OpenBLAS single-threaded; the trainer acts on one thread).
    var act_us: Double
    var act_us_min: Double
    /// GFLOP of one update, counted from the layer shapes.
    var update_gflop: Double
    /// Measured sgemm rate (1536^3) with the same threads, and the update's GEMM floor at that rate.
    var sgemm_gflops: Double
    var measured_floor_ms: Double
    /// measured_floor_ms / update_ms: the fraction of this machine's sgemm rate the update reaches.
    var measured_floor_fraction: Double
    /// The issue's floor: 2.2 GFLOP at ~400 GFLOP/s.
    var floor_ms: Double
    var floor_fraction: Double
    /// Where the PyTorch figures come from: measured here (`--pytorch`) or the issue's.
    var pytorch_source: String
    var pytorch_update_ms: Double
    var pytorch_act_us: Double
    var speedup_update_vs_pytorch: Double
    var speedup_act_vs_pytorch: Double
    var replay_bytes_per_transition: Int?
    var replay_resident_bytes_1m: Int?
    /// The update's GEMM precision (fp32 or bf16), whether this CPU has the bf16 path, and our bf16
    /// kernel's one-thread rate at 1536^3 (nil without AVX512_BF16: the path is never taken).
    var precision: String
    /// What ran the convolutions (arena or onednn), and oneDNN's version when it did.
    var kernels: String
    var onednn_version: String?
    var bf16_supported: Bool
    var bf16_gemm_gflops_1thread: Double?
    /// The vector path of the optimizer step, gradient norm and lane sums: avx512f, avx2 or plain.
    var optimizer_path: String

    mutating func compare(with updateMs: Double, actUs: Double, source: String) {
        pytorch_source = source
        pytorch_update_ms = updateMs
        pytorch_act_us = actUs
        speedup_update_vs_pytorch = updateMs / update_ms
        speedup_act_vs_pytorch = actUs / act_us
    }

    var text: String {
        var lines = [
            "cpu \(cpu), OpenBLAS core \(openblas_core), \(threads) threads, update in \(lanes) lane\(lanes == 1 ? "" : "s")"
                + (openblas_coretype_env.map { " (OPENBLAS_CORETYPE=\($0) is set: run with env -u OPENBLAS_CORETYPE)" } ?? ""),
            "precision \(precision); bf16 path (AVX512_BF16): "
                + (bf16_supported ? bf16_gemm_gflops_1thread.map { String(format: "available, %.0f GFLOP/s on one thread (1536^3)", $0) } ?? "available"
                                  : "not available on this CPU, never taken")
                + "; optimizer step: \(optimizer_path)",
            "convolutions: " + (kernels == "onednn" ? "oneDNN \(onednn_version ?? "")" : "ours (patch matrices and GEMMs)"),
            String(format: "update (batch %d%@%@): median %.2f ms (min %.2f, CPU %.2f ms), PyTorch %.1f ms -> %.2fx",
                   batch_size, dueling ? ", dueling" : "", double_dqn ? ", double" : "", update_ms, update_ms_min,
                   update_cpu_ms, pytorch_update_ms, speedup_update_vs_pytorch),
            "  PyTorch figures: \(pytorch_source)",
            String(format: "  %.2f GFLOP; floor %.1f ms (issue) reached %.0f%%; sgemm %.0f GFLOP/s here -> floor %.2f ms, reached %.0f%%",
                   update_gflop, floor_ms, 100 * floor_fraction, sgemm_gflops, measured_floor_ms, 100 * measured_floor_fraction),
            String(format: "act (one observation): median %.0f us (min %.0f), PyTorch %.0f us -> %.2fx",
                   act_us, act_us_min, pytorch_act_us, speedup_act_vs_pytorch),
        ]
        if let b = replay_bytes_per_transition { lines.append("replay: \(b) bytes per transition") }
        if let r = replay_resident_bytes_1m { lines.append("replay: \(r) bytes resident at 1M transitions") }
        return lines.joined(separator: "\n")
    }
}

enum AgentBenchmark {
    static func run(threads: Int, lanes: Int, updates: Int, acts: Int, network: QNetworkConfig, doubleDQN: Bool,
                    precision: Precision = .fp32, kernels: Kernels = .arena) -> AgentBenchResult {
        let batchSize = 32
        let learner = QLearner(network: network, optimizer: .nature2015, loss: .huber, batchSize: batchSize,
                               doubleDQN: doubleDQN, gradientClipNorm: nil, lanes: lanes, precision: precision,
                               kernels: kernels, seed: 1)
        // After building the learner (which makes OpenBLAS single-threaded): two lanes run as the
        // trainer runs them, OpenBLAS single-threaded; one lane measures OpenBLAS's own threads.
        BLAS.setThreads(learner.lanes >= 2 ? 1 : threads)
        let batch = syntheticBatch(for: learner, actions: network.actions)
        for _ in 0..<5 { learner.update(batch) }
        var updateTimes: [Double] = [], updateCPU: [Double] = []
        for _ in 0..<updates {
            let start = DispatchTime.now().uptimeNanoseconds, cpuStart = processCPUSeconds()
            learner.update(batch)
            updateTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            updateCPU.append((processCPUSeconds() - cpuStart) * 1e3)
        }
        // Acting is measured as the trainer acts: with two or more lanes OpenBLAS stays
        // single-threaded (the trainer acts on one thread).
        var q = [Float](repeating: 0, count: network.actions)
        var actTimes: [Double] = []
        batch.observations.withUnsafeBufferPointer { obs in
            q.withUnsafeMutableBufferPointer { out in
                // safe because: one observation (the first of the batch) and `actions` floats.
                guard let o = obs.baseAddress, let d = out.baseAddress else { return }
                for i in 0..<(acts + 20) {
                    let start = DispatchTime.now().uptimeNanoseconds
                    learner.qValues(observation: o, into: d)
                    if i >= 20 { actTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e3) }
                }
            }
        }
        let gflop = updateFlops(network: network, batch: batchSize, doubleDQN: doubleDQN) / 1e9
        let rate = sgemmRate()
        let updateMs = median(updateTimes), actUs = median(actTimes)
        let env = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        return AgentBenchResult(
            cpu: machineCPU(), openblas_core: BLAS.coreName, openblas_coretype_env: env, threads: threads, lanes: learner.lanes,
            batch_size: batchSize, dueling: network.dueling, double_dqn: doubleDQN,
            update_ms: updateMs, update_ms_min: updateTimes.min() ?? 0, update_cpu_ms: median(updateCPU), act_us: actUs, act_us_min: actTimes.min() ?? 0,
            update_gflop: gflop, sgemm_gflops: rate, measured_floor_ms: gflop / rate * 1e3,
            measured_floor_fraction: gflop / rate * 1e3 / updateMs,
            floor_ms: 5.5, floor_fraction: 5.5 / updateMs,
            pytorch_source: "the issue's (measured on another machine; pass --pytorch for this one's)",
            pytorch_update_ms: 16.2, pytorch_act_us: 273,
            speedup_update_vs_pytorch: 16.2 / updateMs, speedup_act_vs_pytorch: 273 / actUs,
            replay_bytes_per_transition: nil, replay_resident_bytes_1m: nil,
            precision: precision.rawValue, kernels: kernels.rawValue,
            onednn_version: kernels == .onednn ? OneDNN.version : nil, bf16_supported: BLAS.bf16Supported,
            bf16_gemm_gflops_1thread: BLAS.bf16Supported ? gemmRate(precision: .bf16) : nil, optimizer_path: BLAS.optimizerPath)
    }

    /// Multiply-add FLOPs of one update, from the Nature layer shapes: forward passes on s' (target,
    /// plus online with Double DQN) and s, and the backward pass (weights and inputs, except conv1's input).
    static func updateFlops(network: QNetworkConfig, batch: Int, doubleDQN: Bool) -> Double {
        // (out channels, patch rows, output pixels) of the three convs.
        let convs: [(Double, Double, Double)] = [(32, 256, 400), (64, 512, 81), (64, 576, 49)]
        let hidden: [(Double, Double)] = network.dueling
            ? [(3136, 512), (3136, 512), (512, 1), (512, Double(network.actions))]
            : [(3136, 512), (512, Double(network.actions))]
        let convForward = convs.map { 2 * $0.0 * $0.1 * $0.2 }.reduce(0, +)
        let fcForward = hidden.map { 2 * $0.0 * $0.1 }.reduce(0, +)
        let forward = (convForward + fcForward) * Double(batch)
        let backward = 2 * forward - 2 * convs[0].0 * convs[0].1 * convs[0].2 * Double(batch)
        return forward * (doubleDQN ? 3 : 2) + backward
    }

    /// Times every GEMM shape of a plain Nature update at batch 32 (as NeuralNet calls them) alone.
    static func gemmBreakdown() -> String {
        // (name, transA, transB, m, n, k, beta, calls per update)
        let chunk = 4, n = 32  // NeuralNet's conv1 chunk (QNetwork.conv1ChunkSamples)
        let shapes: [(String, Bool, Bool, Int, Int, Int, Float, Int)] = [
            ("conv1 fwd", false, true, chunk * 400, 32, 256, 0, 2 * n / chunk),
            ("conv2 fwd", false, true, n * 81, 64, 512, 0, 2),
            ("conv3 fwd", false, true, n * 49, 64, 576, 0, 2),
            ("fc1 fwd", false, true, n, 512, 3136, 0, 2),
            ("fc2 fwd", false, true, n, 6, 512, 0, 2),
            ("fc2 dW", true, false, 6, 512, n, 1, 1),
            ("fc2 dX", false, false, n, 512, 6, 0, 1),
            ("fc1 dW", true, false, 512, 3136, n, 1, 1),
            ("fc1 dX", false, false, n, 3136, 512, 0, 1),
            ("conv3 dW", true, false, 64, 576, n * 49, 0, 1),
            ("conv3 dCol", false, false, n * 49, 576, 64, 0, 1),
            ("conv2 dW", true, false, 64, 512, n * 81, 0, 1),
            ("conv2 dCol", false, false, n * 81, 512, 64, 0, 1),
            ("conv1 dW", true, false, 32, 256, chunk * 400, 1, n / chunk),
        ]
        var lines: [String] = []
        var total = 0.0
        for (name, ta, tb, m, nn, k, beta, calls) in shapes {
            let a = [Float](repeating: 0.01, count: m * k), b = [Float](repeating: 0.02, count: k * nn)
            var c = [Float](repeating: 0, count: m * nn)
            var times: [Double] = []
            a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                guard let pa = a.baseAddress, let pb = b.baseAddress, let pc = c.baseAddress else { return }
                for _ in 0..<25 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    BLAS.gemm(transA: ta, transB: tb, m: m, n: nn, k: k, alpha: 1, a: pa, lda: ta ? m : k,
                              b: pb, ldb: tb ? k : nn, beta: beta, c: pc, ldc: nn)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                }
            } } }
            let ms = median(Array(times.dropFirst(5)))
            total += ms * Double(calls)
            lines.append(String(format: "  %-11@ %5d x %5d x %5d  x%-3d %7.3f ms each  %6.1f GFLOP/s  %6.2f ms/update",
                                name as NSString, m, nn, k, calls, ms, 2 * Double(m * nn * k) / ms / 1e6, ms * Double(calls)))
        }
        lines.append(String(format: "  GEMMs alone: %.2f ms per plain update", total))
        return lines.joined(separator: "\n")
    }

    /// Every pass of a one-lane update (OpenBLAS on one thread): FLOPs, milliseconds per update
    /// (the median round of `updates` profiled updates), GFLOP/s, and the fraction of this
    /// machine's one-thread sgemm rate measured in the same run.
    static func passTable(network: QNetworkConfig, doubleDQN: Bool, updates: Int, precision: Precision = .fp32,
                          kernels: Kernels = .arena) -> String {
        let batchSize = 32
        let learner = QLearner(network: network, optimizer: .adam(lr: 1e-4, beta1: 0.9, beta2: 0.999, epsilon: 1.5e-4),
                               loss: .huber, batchSize: batchSize, doubleDQN: doubleDQN, gradientClipNorm: 10, lanes: 1,
                               precision: precision, kernels: kernels, seed: 1)
        BLAS.setThreads(1)
        let batch = syntheticBatch(for: learner, actions: network.actions)
        // The rate of the GEMM the update uses (OpenBLAS's sgemm, or our bf16 kernel), on one thread.
        let rate = gemmRate(precision: precision)
        for _ in 0..<3 { learner.update(batch) }
        // Rounds of profiled updates; each pass's median over rounds.
        var rounds: [[PassProfile.Entry]] = []
        var totals: [Double] = []
        for _ in 0..<updates {
            let profile = PassProfile()
            let start = DispatchTime.now().uptimeNanoseconds
            learner.profiledUpdate(batch, into: profile)
            totals.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            rounds.append(profile.entries)
        }
        var plain: [Double] = []
        for _ in 0..<updates {
            let start = DispatchTime.now().uptimeNanoseconds
            learner.update(batch)
            plain.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
        }
        let names = rounds[0].map(\.name)
        var lines = [String(format: "passes of one update (%@%@, batch %d, Adam, clip 10), one lane, %@ GEMMs (OpenBLAS %@) on 1 thread; %@ GEMM 1536^3 on 1 thread: %.1f GFLOP/s (\"of sgemm\" below is of this rate)",
                            network.dueling ? "dueling" : "plain", doubleDQN ? " + Double DQN" : "", batchSize,
                            precision.rawValue as NSString, BLAS.coreName as NSString, precision.rawValue as NSString, rate)]
        func column(_ text: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return left ? text + fill : fill + text
        }
        lines.append("  " + column("pass", 44, left: true) + [("calls", 6), ("MFLOP", 9), ("ms", 9), ("GFLOP/s", 9), ("of sgemm", 9), ("share", 7)]
            .map { column($0.0, $0.1) }.joined())
        let medianTotal = median(totals)
        var sum = 0.0, flops = 0.0
        for (k, name) in names.enumerated() {
            let ms = median(rounds.map { $0.count > k ? $0[k].seconds * 1e3 : 0 })
            let f = rounds[0][k].flops
            sum += ms; flops += f
            let gflops = ms > 0 && f > 0 ? f / (ms * 1e6) : 0
            let cells = [(String(rounds[0][k].calls), 6), (String(format: "%.1f", f / 1e6), 9), (String(format: "%.3f", ms), 9),
                         (f > 0 ? String(format: "%.1f", gflops) : "-", 9), (f > 0 ? String(format: "%.0f%%", 100 * gflops / rate) : "-", 9),
                         (String(format: "%.1f%%", 100 * ms / medianTotal), 7)]
            lines.append("  " + column(name, 44, left: true) + cells.map { column($0.0, $0.1) }.joined())
        }
        lines.append(String(format: "  sum of the passes %.2f ms (%.2f GFLOP, %.1f GFLOP/s overall, %.0f%% of sgemm); whole profiled update %.2f ms; unprofiled update %.2f ms (medians)",
                            sum, flops / 1e9, flops / (medianTotal * 1e6), 100 * flops / (medianTotal * 1e6) / rate, medianTotal, median(plain)))
        return lines.joined(separator: "\n")
    }

    /// A batch of seeded random observations, actions and rewards for `learner`.
    static func syntheticBatch(for learner: QLearner, actions: Int) -> TrainingBatch {
        var generator = SeededGenerator(seed: 2, stream: "bench")
        let batch = learner.makeBatch()
        for i in batch.observations.indices { batch.observations[i] = UInt8(truncatingIfNeeded: generator.next()) }
        for i in batch.nextObservations.indices { batch.nextObservations[i] = UInt8(truncatingIfNeeded: generator.next()) }
        for i in 0..<learner.batchSize {
            batch.actions[i] = Int32(generator.next() % UInt64(actions))
            batch.rewards[i] = Float(Int(generator.next() % 3)) - 1
            batch.discounts[i] = 0.99
        }
        return batch
    }

    /// Median GFLOP/s of a 1536^3 sgemm (OpenBLAS's current threads).
    static func sgemmRate() -> Double { gemmRate(precision: .fp32) }

    /// Median GFLOP/s of a 1536^3 GEMM in `precision` (bf16: our kernel, one thread).
    static func gemmRate(precision: Precision) -> Double {
        let n = 1536
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var times: [Double] = []
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
            guard let pa = a.baseAddress, let pb = b.baseAddress, let pc = c.baseAddress else { return }
            for _ in 0..<6 {
                let start = DispatchTime.now().uptimeNanoseconds
                BLAS.gemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: pa, lda: n, b: pb, ldb: n,
                          beta: 0, c: pc, ldc: n, precision: precision)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        } } }
        return 2 * pow(Double(n), 3) / median(Array(times.dropFirst())) / 1e9
    }

    /// CPU seconds used by this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

import ArenaSupport

/// What Benchmarks/pytorch_reference.py prints.
struct PyTorchReference: Decodable {
    var torch: String
    var threads: Int
    var dueling: Bool
    var double_dqn: Bool
    var update_ms: Double
    var act_us: Double

    static func load(_ path: String) throws -> PyTorchReference {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("Cannot read the PyTorch reference \(path).")
        }
        do { return try JSONDecoder().decode(PyTorchReference.self, from: data) } catch {
            throw ValidationError("\(path) is not the JSON printed by Benchmarks/pytorch_reference.py.")
        }
    }
}
