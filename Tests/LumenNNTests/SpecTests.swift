import Foundation
import LumenTensor
import Testing
@testable import LumenNN

@Suite("network definitions")
struct SpecTests {
    /// Key counts and shapes stated in networks.md for real bundles.
    @Test("bundle networks declare MONAI's key count", arguments: [
        (PlanTests.spleen, 148, "model.1.submodule.1.submodule.1.submodule.1.submodule.conv.unit0.conv.weight", [256, 128, 3, 3, 3]),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [16, 32, 64], "strides": [2, 2]}}"#,
         14, "model.1.submodule.2.conv.weight", [96, 16, 3, 3, 3]),
        (#"{"name": "BasicUNet", "args": {}}"#, 82, "upcat_4.upsample.deconv.weight", [256, 128, 2, 2, 2]),
        (#"{"name": "SegResNet", "args": {"init_filters": 16}}"#, 83, "up_samples.0.0.conv.weight", [64, 128, 1, 1, 1]),
        (#"{"name": "SegResNet", "args": {"init_filters": 32, "in_channels": 3, "out_channels": 6, "upsample_mode": "deconv"}}"#,
         89, "up_samples.0.1.deconv.weight", [128, 128, 2, 2, 2]),
        // 68 in the file, of which 33 are skip_layers aliases.
        (PlanTests.deepedit, 35, "upsamples.0.transp_conv.conv.weight", [320, 320, 2, 2, 1]),
    ])
    func keyCounts(json: String, count: Int, key: String, shape: [Int]) throws {
        let keys = try network(json).expectedKeys
        #expect(keys.count == count)
        #expect(keys.first { $0.key == key }?.shape == shape)
    }

    @Test("names are matched as MONAI spells them, short or dotted", arguments: [
        ("UNet", "UNet"), ("Unet", "UNet"), ("monai.networks.nets.UNet", "UNet"), ("BasicUnet", "BasicUNet"),
        ("Basicunet", "BasicUNet"), ("basicunet", "BasicUNet"), ("monai.networks.nets.SegResNet", "SegResNet"),
        ("DynUnet", "DynUNet"), ("Dynunet", "DynUNet"), ("DynUNet", "DynUNet"),
    ])
    func family(name: String, family: String) {
        #expect(NetworkSpec(name: name, args: [:]).family == family)
    }

    @Test("definitions that cannot be built say which key and what is supported", arguments: [
        (#"{"name": "VNet", "args": {}}"#, "unknown network \"VNet\"; supported: UNet, BasicUNet, SegResNet, DynUNet"),
        (#"{"_target_": "scripts.net.MyNet"}"#, "unknown network \"scripts.net.MyNet\""),
        (#"{"args": {}}"#, "neither \"name\" nor \"_target_\""),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "chanels": 3}}"#,
         "UNet: unknown argument \"chanels\"; supported: act, adn_ordering, bias"),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "act": "gelu"}}"#,
         "argument \"act\": activation \"gelu\" is not supported; use relu, leakyrelu or prelu"),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "norm": "layer"}}"#,
         "norm \"layer\" is not supported; use batch, instance or group"),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "channels": [4, 8], "strides": [2]}}"#,
         "argument \"out_channels\": is required"),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8, 16], "strides": [2]}}"#,
         "argument \"strides\": needs at least len(channels) - 1 entries"),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "kernel_size": 4}}"#,
         "argument \"kernel_size\": expected an odd size or 3 odd sizes, got [4]"),
        (#"{"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "up_kernel_size": [3, 3, 3]}}"#,
         "argument \"up_kernel_size\": expected an odd size or 2 odd sizes, got [3, 3, 3]"),
        (#"{"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "adn_ordering": "NAN"}}"#,
         "argument \"adn_ordering\": expected some of the letters N, D, A, each at most once"),
        (#"{"name": "BasicUNet", "args": {"upsample": "pixelshuffle"}}"#, "argument \"upsample\""),
        (#"{"_target_": "BasicUNet", "out_channels": "@num_classes"}"#,
         "argument \"out_channels\": \"@num_classes\" is a MONAI bundle reference or expression"),
        (#"{"name": "SegResNet", "args": {"init_filters": 6, "norm": ["group", {"num_groups": 4}]}}"#,
         "SegResNet: argument \"norm\": group norm with 4 groups cannot split a layer of 6 channels (down_layers.0.1.norm1)"),
        (#"{"name": "DynUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "filters": [4, 6, 8], "norm_name": ["group", {"num_groups": 4}]}}"#,
         "DynUNet: argument \"norm_name\": group norm with 4 groups cannot split a layer of 6 channels"),
        (#"{"name": "BasicUNet", "args": {"features": [4, 4, 8]}}"#, "argument \"features\": needs 6 entries"),
        (#"{"name": "SegResNet", "args": {"norm_name": "batch"}}"#, "argument \"norm_name\": only \"group\""),
        (#"{"name": "SegResNet", "args": {"norm": ["group", {}]}}"#, "group norm needs num_groups"),
        (#"{"name": "SegResNet", "args": {"spatial_dims": 1}}"#, "argument \"spatial_dims\": must be 2 or 3"),
        (#"{"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3], "strides": [1, 2], "upsample_kernel_size": [2]}}"#,
         "kernel_size and strides need the same length"),
        (#"{"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "kernel_size": [3, [3, 3], 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2]}}"#,
         "each entry must be an int or 3 ints"),
    ])
    func refused(json: String, message: String) throws {
        do {
            _ = try network(json)
            Issue.record("accepted \(json)")
        } catch let error as NetworkError {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test("old argument names and layer spellings build the same network as the new ones", arguments: [
        (#"{"name": "UNet", "args": {"dimensions": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "norm": "BATCH", "act": ["PReLU", {}]}}"#,
         #"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "norm": ["batch", {}], "act": "prelu"}}"#),
        (#"{"name": "SegResNet", "args": {"init_filters": 4, "norm_name": "group", "num_groups": 2}}"#,
         #"{"name": "SegResNet", "args": {"init_filters": 4, "norm": ["GROUP", {"num_groups": 2}]}}"#),
        (#"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "norm": "SyncBatch"}}"#,
         #"{"name": "UNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "norm": "batch"}}"#),
        (#"{"name": "DynUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "filters": [16, 32, 64], "norm_name": "group"}}"#,
         #"{"name": "DynUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "filters": [16, 32, 64], "norm_name": ["group", {"num_groups": 16}]}}"#),
        (#"{"_target_": "monai.networks.nets.DynUNet", "spatial_dims": 3, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2]}"#,
         #"{"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "norm_name": ["instance", {"affine": true}]}}"#),
    ])
    func equivalent(old: String, new: String) throws {
        let a = try network(old).expectedKeys, b = try network(new).expectedKeys
        #expect(a.map(\.key) == b.map(\.key))
        #expect(a.map(\.shape) == b.map(\.shape))
    }

    /// MONAI ≤ 0.5 (Clara Train 4.0 MMARs) built `norm_name: "instance"` with affine weights.
    @Test("a DynUNet \"instance\" config binds a MONAI ≤ 0.5 affine checkpoint and matches MONAI")
    func dynunetLegacyAffine() throws {
        let (spec, checkpoint, x, expected) = try Parity.load("parity-more/dynunet3d_deepsup_transbias")
        var args = spec.args
        args["norm_name"] = .string("instance")
        let net = try Network(spec: NetworkSpec(name: spec.name, args: args))
        #expect(!net.expectedKeys.contains { $0.key.contains("norm") })
        try net.load(checkpoint.tensors)
        #expect(net.expectedKeys.contains { $0.key == "input_block.norm1.weight" })
        let y = try net.forward(x)
        #expect(maxDifference(y, expected) <= 1e-4 * max(1, expected.data.map(abs).max() ?? 0))
    }

    @Test("a DynUNet plain \"group\" is MONAI ≤ 0.5's 16 groups")
    func dynunetLegacyGroups() throws {
        let net = try network(#"{"name": "DynUNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "filters": [16, 32, 64], "norm_name": "GROUP"}}"#)
        let kinds = net.plan.chains.flatMap(\.ops).compactMap { op -> NormKind? in if case .norm(let n) = op { n.kind } else { nil } }
        #expect(!kinds.isEmpty && kinds.allSatisfy { $0 == .group(groups: 16) })
    }

    @Test("DynUNet \"instance\" means affine=False: no norm keys")
    func dynunetInstanceString() throws {
        let keys = try network(PlanTests.deepedit).expectedKeys
        #expect(!keys.contains { $0.key.contains("norm") })
    }

    /// MONAI ≤ 0.8 created conv3/norm3 in every res block; skip_layers.* and
    /// deep_supervision_heads.* are aliases and training heads.
    @Test("DynUNet tolerates conv3/norm3 extras, skip_layers and deep supervision heads")
    func dynunetExtras() throws {
        // input_block keeps 4 channels at stride 1, so ≥ 0.9 gives it no conv3/norm3.
        let net = try network(#"{"name": "DynUNet", "args": {"spatial_dims": 3, "in_channels": 4, "out_channels": 2, "kernel_size": [3, 3, 3], "strides": [1, 2, 2], "upsample_kernel_size": [2, 2], "filters": [4, 4, 8], "res_block": true}}"#)
        var sd = filled(net)
        #expect(sd["input_block.conv3.conv.weight"] == nil && sd["downsamples.0.conv3.conv.weight"] != nil)
        sd["input_block.conv3.conv.weight"] = Tensor(zeros: [4, 4, 1, 1, 1])
        sd["input_block.norm3.weight"] = Tensor(zeros: [4])
        sd["input_block.norm3.bias"] = Tensor(zeros: [4])
        sd["skip_layers.downsample.conv1.conv.weight"] = Tensor(zeros: [4, 4, 3, 3, 3])
        sd["deep_supervision_heads.0.conv.conv.weight"] = Tensor(zeros: [2, 4, 1, 1, 1])
        try net.load(sd)
        #expect(try net.forward(Tensor(zeros: [1, 4, 8, 8, 8])).shape == [1, 2, 8, 8, 8])
    }

    @Test("a state dict that does not fit is one error listing every missing, unexpected and wrong-shaped key")
    func mismatchListsEverything() throws {
        let net = try network(#"{"name": "UNet", "args": {"spatial_dims": 2, "in_channels": 1, "out_channels": 2, "channels": [4, 8], "strides": [2], "norm": "batch"}}"#)
        var sd = filled(net)
        sd["model.0.conv.bias"] = nil
        sd["model.0.adn.N.running_var"] = nil
        sd["model.2.conv.weight"] = Tensor(zeros: [12, 2, 5, 5])
        sd["model.9.weight"] = Tensor(zeros: [3, 3])
        sd["model.0.adn.N.num_batches_tracked"] = nil   // an int buffer: optional
        do {
            try net.load(sd)
            Issue.record("a broken state dict was accepted")
        } catch let NetworkError.stateDictMismatch(missing, unexpected, wrong) {
            #expect(missing == ["model.0.conv.bias [4]", "model.0.adn.N.running_var [4]"])
            #expect(unexpected == ["model.9.weight [3, 3]"])
            #expect(wrong == ["model.2.conv.weight: expected [12, 2, 3, 3], got [12, 2, 5, 5]"])
        }
    }

    @Test("inputs that do not fit are refused with the sizes named", arguments: [
        (#"{"name": "SegResNet", "args": {"init_filters": 8, "in_channels": 3}}"#, [1, 1, 16, 16, 16], "expects 3 input channels, got 1"),
        (#"{"name": "SegResNet", "args": {"init_filters": 8}}"#, [1, 1, 16, 12, 16], "needs spatial sizes divisible by [8, 8, 8], got [16, 12, 16]"),
        (#"{"name": "SegResNet", "args": {"init_filters": 8, "spatial_dims": 2}}"#, [1, 1, 16, 16, 16], "expects a 4-D input"),
        (#"{"name": "BasicUNet", "args": {"features": [2, 2, 2, 2, 2, 2]}}"#, [1, 1, 15, 40, 40], "at least 16, got [15, 40, 40]"),
        (PlanTests.deepedit, [1, 3, 32, 32, 30], "divisible by [32, 32, 16], got [32, 32, 30]"),
        (PlanTests.deepedit, [0, 3, 32, 32, 32], "empty input"),
    ])
    func badInput(json: String, shape: [Int], message: String) throws {
        let net = try network(json)
        try net.load(filled(net))
        do {
            _ = try net.forward(Tensor(zeros: shape))
            Issue.record("accepted \(shape)")
        } catch let error as NetworkError {
            #expect("\(error)".contains(message), "\(error)")
        }
        #expect(throws: NetworkError.self) { try net.peakBytes(inputShape: shape) }
    }
}
