import Foundation
import LumenIO
import LumenTensor
import Testing
@testable import LumenNN

/// MONAI 1.6.1 outputs: `parity/` from scripts/fixtures/make_parity_fixtures.py,
/// `parity-more/` from scripts/fixtures/make_more_parity_fixtures.py. A missing set
/// shows up as a failing case named after the script to run, never as a skip.
enum Parity {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let sets = ["parity": "scripts/fixtures/make_parity_fixtures.py", "parity-more": "scripts/fixtures/make_more_parity_fixtures.py"]

    /// "set/config" for every configuration of every set.
    static var configs: [String] {
        sets.keys.sorted().flatMap { set -> [String] in
            guard let index = try? JSONValue(parsing: Data(contentsOf: fixtures.appendingPathComponent("\(set)/index.json"))),
                  let list = index["configs"]?.array, !list.isEmpty else {
                return ["\(set)/<fixtures missing: run \(sets[set]!)>"]
            }
            return list.compactMap { $0["name"]?.string.map { "\(set)/\($0)" } }
        }
    }

    static func load(_ name: String) throws -> (NetworkSpec, Checkpoint, Tensor, Tensor) {
        let dir = fixtures.appendingPathComponent(name.contains("/") ? name : "parity/\(name)")
        return (try NetworkSpec(contentsOf: dir.appendingPathComponent("net.json")),
                try CheckpointLoader.load(dir.appendingPathComponent("model.pt")),
                try Npy.read(dir.appendingPathComponent("x.npy")),
                try Npy.read(dir.appendingPathComponent("y.npy")))
    }
}

func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    return zip(a.data, b.data).map { abs($0 - $1) }.max() ?? .infinity
}

@Suite("MONAI parity")
struct ParityTests {
    @Test("the native network equals MONAI", arguments: Parity.configs)
    func matches(config: String) throws {
        let (spec, checkpoint, x, expected) = try Parity.load(config)
        let network = try Network(spec: spec, stateDict: checkpoint.tensors)
        let y = try network.forward(x)
        #expect(y.shape == expected.shape)
        #expect(try network.outputShape(inputShape: x.shape) == expected.shape)
        #expect(network.outChannels == expected.shape[1])
        let scale = max(1, expected.data.map(abs).max() ?? 0)
        let worst = maxDifference(y, expected)
        print("parity \(config): max |Δ| = \(worst), |ref|∞ = \(scale)")
        #expect(worst <= 1e-4 * scale, "max |Δ| = \(worst), |ref|∞ = \(scale)")
    }

    /// The declared state dict is MONAI's own, key for key and in MONAI's
    /// order, less the aliases and training-only heads that eval ignores.
    @Test("expected keys are MONAI's state dict in order", arguments: Parity.configs)
    func keyOrder(config: String) throws {
        let (spec, checkpoint, _, _) = try Parity.load(config)
        let monai = checkpoint.keyOrder.filter { !$0.hasPrefix("skip_layers.") && !$0.hasPrefix("deep_supervision_heads.") }
        let ours = try Network(spec: spec).expectedKeys
        #expect(ours.map(\.key) == monai)
        for (key, shape) in ours { #expect(checkpoint.tensors[key]?.shape == shape, "\(key)") }
    }

    @Test("MONAI ≤ 0.3 key spellings (unit0.norm, unit0.act) bind to the same network")
    func oldKeys() throws {
        let (spec, checkpoint, x, expected) = try Parity.load("unet3d_res2_batch")
        var renamed: [String: Tensor] = [:]
        for (key, value) in checkpoint.tensors {
            renamed[key.replacingOccurrences(of: ".adn.N.", with: ".norm.").replacingOccurrences(of: ".adn.A.", with: ".act.")] = value
        }
        #expect(renamed.keys.contains { $0.contains(".norm.") } && !renamed.keys.contains { $0.contains(".adn.") })
        let y = try Network(spec: spec, stateDict: renamed).forward(x)
        #expect(maxDifference(y, expected) <= 1e-4 * max(1, expected.data.map(abs).max() ?? 0))
    }

    @Test("a checkpoint of another architecture lists what does not fit")
    func wrongArchitecture() throws {
        let (spec, _, _, _) = try Parity.load("unet3d_res2_batch")
        let (_, other, _, _) = try Parity.load("dynunet3d_basic_instance")
        do {
            _ = try Network(spec: spec, stateDict: other.tensors)
            Issue.record("a DynUNet checkpoint bound to a UNet")
        } catch let error as NetworkError {
            guard case .stateDictMismatch(let missing, let unexpected, _) = error else { Issue.record("\(error)"); return }
            #expect(missing.contains { $0.hasPrefix("model.0.conv.unit0.conv.weight [4, 1, 3, 3, 3]") })
            #expect(unexpected.contains { $0.hasPrefix("input_block.conv1.conv.weight") })
            #expect("\(error)".contains("missing"))
        }
    }

    @Test("a same-family checkpoint with other channel counts names the wrong shapes")
    func wrongShapes() throws {
        let (_, checkpoint, _, _) = try Parity.load("unet3d_res2_batch")
        var args = try Parity.load("unet3d_res2_batch").0.args
        args["channels"] = .array([.number(8), .number(8), .number(16)])
        do {
            _ = try Network(spec: NetworkSpec(name: "UNet", args: args), stateDict: checkpoint.tensors)
            Issue.record("mismatched channels were accepted")
        } catch let error as NetworkError {
            guard case .stateDictMismatch(_, _, let wrong) = error else { Issue.record("\(error)"); return }
            #expect(wrong.contains("model.0.conv.unit0.conv.weight: expected [8, 1, 3, 3, 3], got [4, 1, 3, 3, 3]"))
        }
    }

    @Test("inputs that do not fit are refused", arguments: [
        ([1, 3, 16, 16, 16], "expects 1 input channel, got 3"),
        ([1, 1, 16, 16], "expects a 5-D input"),
        ([1, 1, 16, 15, 16], "divisible by [4, 4, 4]"),
    ])
    func badInput(shape: [Int], message: String) throws {
        let (spec, checkpoint, _, _) = try Parity.load("unet3d_res2_batch")
        let network = try Network(spec: spec, stateDict: checkpoint.tensors)
        do {
            _ = try network.forward(Tensor(zeros: shape))
            Issue.record("accepted \(shape)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test("unknown networks and arguments are named", arguments: [
        (#"{"name": "VNet", "args": {}}"#, "unknown network \"VNet\""),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "chanels": 3}}"#, "unknown argument \"chanels\""),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "act": "gelu"}}"#, "activation \"gelu\" is not supported"),
    ])
    func badSpec(json: String, message: String) throws {
        do {
            _ = try Network(spec: NetworkSpec(json: JSONValue(parsing: Data(json.utf8))))
            Issue.record("accepted \(json)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test("bundle-style _target_ definitions are understood")
    func target() throws {
        let spec = try NetworkSpec(json: JSONValue(parsing: Data(#"{"_target_": "monai.networks.nets.BasicUnet", "spatial_dims": 3, "features": [4,4,8,8,16,4]}"#.utf8)))
        #expect(spec.family == "BasicUNet")
        #expect(try Network(spec: spec).expectedKeys.contains { $0.key == "final_conv.weight" && $0.shape == [2, 4, 1, 1, 1] })
    }
}
