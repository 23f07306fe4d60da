import Foundation
import Testing
@testable import NeuralNet

/// Safetensors and .npy: round trips and a clear error (never a crash) for each kind of bad file.
@Suite struct WeightsFileTests {
    static func natureFile(dueling: Bool = false, actions: Int = 6) -> (bytes: [UInt8], params: [Float]) {
        let net = QNetwork(config: QNetworkConfig(actions: actions, dueling: dueling))
        let params = randomFloats(net.parameterCount, seed: 3)
        return (WeightsFile.encode(network: net.config, shape: .nature, parameters: params), params)
    }

    static func decodeError(_ bytes: [UInt8]) -> String? {
        do {
            _ = try WeightsFile.decode(SafeTensors(decoding: bytes), shape: .nature)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Re-encodes a file after changing its tensors.
    static func modified(_ change: (inout [SafeTensors.Tensor]) -> Void) -> [UInt8] {
        var file = try! SafeTensors(decoding: natureFile().bytes)
        change(&file.tensors)
        return file.encoded()
    }

    /// Half-precision files (for shipping trained agents): half the size, every value rounded to
    /// the nearest half, read back as exactly those values.
    @Test func halfPrecisionFilesHoldRoundedValuesInHalfTheBytes() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = QNetwork(config: QNetworkConfig(actions: 6, dueling: true))
        let params = randomFloats(net.parameterCount, seed: 21)
        let full = dir.appendingPathComponent("f32.safetensors"), half = dir.appendingPathComponent("f16.safetensors")
        try WeightsFile.save(network: net.config, parameters: params, to: full)
        try WeightsFile.save(network: net.config, parameters: params, to: half, halfPrecision: true)
        let fullSize = try Data(contentsOf: full).count, halfSize = try Data(contentsOf: half).count
        #expect(halfSize < fullSize / 2 + 4096 && halfSize > fullSize / 2 - 4096)
        let (config, loaded) = try WeightsFile.load(from: half)
        #expect(config == net.config)
        #expect(loaded == params.map { Float(Float16($0)) })
        #expect(loaded != params, "rounding to half changes some values")
        #expect(try WeightsFile.read(from: half).tensors.allSatisfy { $0.dtype == "F16" })
    }

    /// F16 and BF16 bit patterns decode to the values they stand for (including a subnormal half).
    @Test func halfAndBrainFloatBitsDecode() throws {
        #expect(halfBits(1) == 0x3C00 && halfBits(-2) == 0xC000 && halfBits(65504) == 0x7BFF && halfBits(1e6) == 0x7C00)
        #expect(halfBits(Float(sign: .plus, exponent: -24, significand: 1)) == 0x0001)
        #expect(floatFromHalf(0x3555) == Float(Float16(bitPattern: 0x3555)) && abs(floatFromHalf(0x3555) - 1.0 / 3) < 1e-3)
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00]         // 1, -2, 2^-24
        let bf16: [UInt8] = [0x80, 0x3F, 0x20, 0xC0, 0x49, 0x40]        // 1, -2.5, 3.140625
        let file = SafeTensorsRaw.file(header: #"{"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[6,12]}}"#,
                                       data: f16 + bf16)
        let decoded = try SafeTensors(decoding: file)
        #expect(decoded.tensor(named: "h")?.values == [1, -2, Float(sign: .plus, exponent: -24, significand: 1)])
        #expect(decoded.tensor(named: "b")?.values == [1, -2.5, 3.140625])
    }

    @Test(arguments: [false, true])
    func roundTripIsBitExact(dueling: Bool) throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let net = QNetwork(config: QNetworkConfig(actions: 4, dueling: dueling))
        let params = randomFloats(net.parameterCount, seed: 8)
        let url = dir.appendingPathComponent("w.safetensors")
        try WeightsFile.save(network: net.config, parameters: params, to: url)
        let (config, loaded) = try WeightsFile.load(from: url)
        #expect(config == net.config)
        #expect(loaded == params)
        // The layout the spec requires: u64 header length, a multiple of 8, JSON with our names.
        let bytes = try [UInt8](Data(contentsOf: url))
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(n % 8 == 0)
        #expect(bytes.count == 8 + n + 4 * params.count)
        let header = try #require(try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + n)])) as? [String: Any])
        let names = Set(header.keys)
        let expected: Set<String> = dueling
            ? ["__metadata__", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
               "fc1_value.weight", "fc1_value.bias", "fc1_advantage.weight", "fc1_advantage.bias",
               "value.weight", "value.bias", "advantage.weight", "advantage.bias"]
            : ["__metadata__", "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "conv3.weight", "conv3.bias",
               "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
        #expect(names == expected)
        let conv1 = try #require(header["conv1.weight"] as? [String: Any])
        #expect((conv1["shape"] as? [Int]) == [32, 4, 8, 8])
        #expect((conv1["dtype"] as? String) == "F32")
        let meta = try #require(header["__metadata__"] as? [String: String])
        #expect(meta == ["format": "pt", "arena_actions": "4", "arena_dueling": String(dueling)])
        // conv1.weight's first float is the first parameter, little-endian.
        let offsets = try #require(conv1["data_offsets"] as? [Int])
        let at = 8 + n + offsets[0]
        let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        #expect(Float(bitPattern: bits) == params[0])
    }

    @Test func learnerLoadsWhatItSaves() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = QLearner(network: QNetworkConfig(actions: 5), seed: 1)
        let url = dir.appendingPathComponent("w.safetensors")
        try a.saveWeights(to: url)
        let b = QLearner(network: QNetworkConfig(actions: 5), seed: 2)
        try b.loadWeights(from: url)
        #expect(b.parameters == a.parameters && b.targetParameters == a.parameters)
        let c = QLearner(network: QNetworkConfig(actions: 4), seed: 2)
        #expect(throws: WeightsFileError.self) { try c.loadWeights(from: url) }
    }

    @Test func pytorchDefaultInitialization() {
        // Every tensor is within +-1/sqrt(fan_in) and actually spreads over that range.
        let learner = QLearner(network: QNetworkConfig(actions: 6), seed: 3)
        let p = learner.parameters
        for t in learner.tensors {
            let bound = 1 / Float(t.fanIn).squareRoot()
            let values = p[t.offset..<(t.offset + t.count)]
            #expect(values.allSatisfy { abs($0) <= bound }, "\(t.name) exceeds its bound")
            if t.count >= 32 { #expect(values.max()! > 0.8 * bound && values.min()! < -0.8 * bound, "\(t.name) does not fill its range") }
        }
        #expect(learner.tensors.first { $0.name == "conv1.weight" }?.fanIn == 256)
        #expect(learner.tensors.first { $0.name == "fc1.weight" }?.fanIn == 3136)
    }

    @Test func badFilesGetASentenceNotACrash() {
        let good = Self.natureFile().bytes
        var cases: [(String, [UInt8], String)] = [
            ("empty", [], "too short"),
            ("short", [1, 2, 3], "too short"),
            ("header longer than file", [0xFF, 0xFF, 0, 0, 0, 0, 0, 0] + Array(repeating: 0x20, count: 16), "truncated"),
            ("truncated data", Array(good.dropLast(100)), "truncated"),
            ("truncated header", Array(good.prefix(200)), "truncated"),
        ]
        // Bad JSON: same length, garbage header.
        var badJSON = good
        badJSON[8] = UInt8(ascii: "[")
        badJSON[9] = UInt8(ascii: "x")
        cases.append(("bad JSON", badJSON, "not valid JSON"))
        // Not an object.
        let notObject = SafeTensorsRaw.file(header: "[1,2,3]  ", data: [])
        cases.append(("header not an object", notObject, "not an object"))
        cases.append(("missing tensor", Self.modified { $0.removeAll { $0.name == "conv2.bias" } }, "lacks tensor conv2.bias"))
        cases.append(("extra tensor", Self.modified { $0.append(.init(name: "fc3.weight", shape: [2], values: [1, 2])) }, "unexpected tensor fc3.weight"))
        cases.append(("wrong shape", Self.modified { ts in
            if let i = ts.firstIndex(where: { $0.name == "conv1.weight" }) { ts[i].shape = [32, 4, 64] }
        }, "conv1.weight has shape [32, 4, 64], expected [32, 4, 8, 8]"))
        cases.append(("no head", Self.modified { $0.removeAll { $0.name.hasPrefix("fc2") } }, "neither fc2.weight"))
        // Wrong dtype: the same bytes declared F16 with a shape that fits.
        let f16 = SafeTensorsRaw.file(header: #"{"conv1.weight":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0])
        cases.append(("F16 only tensor", f16, "neither fc2.weight"))
        let goodFile = try! SafeTensors(decoding: good)
        var header = "{"
        var data: [UInt8] = []
        for t in goodFile.tensors {
            let dtype = t.name == "conv3.bias" ? "I32" : "F32"
            let width = 4
            let begin = data.count
            data += [UInt8](repeating: 0, count: t.values.count * width)
            if header.count > 1 { header += "," }
            header += "\"\(t.name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(begin),\(data.count)]}"
        }
        header += "}"
        cases.append(("wrong dtype", SafeTensorsRaw.file(header: header, data: data), "dtype I32 but only F32, F16 and BF16"))
        cases.append(("offsets mismatch", SafeTensorsRaw.file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "3 values) but 8 bytes"))
        cases.append(("offsets outside", SafeTensorsRaw.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, data: [UInt8](repeating: 0, count: 8)), "spans bytes"))
        cases.append(("negative dim", SafeTensorsRaw.file(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "non-negative integer"))
        cases.append(("fractional offset", SafeTensorsRaw.file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0.5,8]}}"#, data: [UInt8](repeating: 0, count: 8)), "data_offsets"))
        cases.append(("metadata disagrees", {
            var f = goodFile; f.metadata["arena_actions"] = "7"; return f.encoded() }(), "metadata says 7 actions"))
        for (label, bytes, phrase) in cases {
            let message = Self.decodeError(bytes)
            #expect(message?.contains(phrase) == true, "\(label): got \(message ?? "no error")")
        }
        #expect(Self.decodeError(good) == nil)
    }

    @Test func fileErrorsNameThePathAndTheFix() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = dir.appendingPathComponent("nope.safetensors")
        do { _ = try WeightsFile.load(from: missing); Issue.record("loading a missing file succeeded") } catch {
            #expect("\(error)".contains("nope.safetensors") && "\(error)".contains("no such file"))
        }
        let torn = dir.appendingPathComponent("torn.safetensors")
        try Data(Self.natureFile().bytes.prefix(5000)).write(to: torn)
        do { _ = try WeightsFile.load(from: torn); Issue.record("loading a torn file succeeded") } catch {
            let text = "\(error)"
            #expect(text.contains("torn.safetensors") && text.contains("truncated") && text.contains("arena weights init"))
        }
    }

    @Test func npyRoundTripAndErrors() throws {
        let values = randomBytes(2 * 3 * 5, seed: 4)
        let bytes = NPY.encodeUInt8(values, shape: [2, 3, 5])
        #expect((bytes.count - values.count) % 64 == 0)  // NumPy aligns the header to 64 bytes
        #expect(try NPY.decodeUInt8(bytes) == NPYArray(shape: [2, 3, 5], values: values))
        // A header exactly as NumPy writes it for float32.
        let f32Header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 84, 84), }"
        let f32 = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(f32Header.utf8.count), 0] + Array(f32Header.utf8)
        let cases: [([UInt8], String)] = [
            (Array(bytes.dropLast(3)), "truncated"),
            (Array(bytes.prefix(20)), "truncated inside its header"),
            ([1, 2, 3], "magic"),
            (Array("not numpy at all".utf8), "magic"),
            (f32, "'<f4'"),
        ]
        for (input, phrase) in cases {
            do { _ = try NPY.decodeUInt8(input, path: "obs.npy"); Issue.record("no error for \(phrase)") } catch {
                #expect("\(error)".contains(phrase) && "\(error)".contains("obs.npy"), "\(error)")
            }
        }
        // Version 2 headers and a 1-D shape parse too.
        var v2 = NPY.encodeUInt8([7, 8, 9], shape: [3])
        let headerLength = Int(v2[8]) | Int(v2[9]) << 8
        v2.replaceSubrange(6..<10, with: [2, 0, UInt8(headerLength & 0xFF), UInt8(headerLength >> 8), 0, 0])
        #expect(try NPY.decodeUInt8(v2) == NPYArray(shape: [3], values: [7, 8, 9]))
    }
}

/// Builds raw safetensors bytes from a header string, for malformed-file tests.
enum SafeTensorsRaw {
    static func file(header: String, data: [UInt8]) -> [UInt8] {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        let n = UInt64(h.count)
        return (0..<8).map { UInt8((n >> (8 * UInt64($0))) & 0xFF) } + h + data
    }
}
