import Foundation
import LumenTensor
import Testing
@testable import LumenIO

/// Pickles no honest torch.save writes: each must end in its own error.
@Suite("PyTorch checkpoints: hostile pickles")
struct CheckpointPickleTests {
    static let storage: [String: [Float]] = ["0": (0..<6).map(Float.init)]

    func load(_ body: [UInt8], storages: [String: [Float]] = storage) throws -> Checkpoint {
        try CheckpointLoader.load(bytes: P.archive(P.pickle(body), storages: storages), name: "h.pt")
    }

    func expectBadPickle(_ body: [UInt8], _ detail: String, sourceLocation: SourceLocation = #_sourceLocation) {
        expectCheckpointError(.badPickle(file: "h.pt", detail: detail), loading: P.archive(P.pickle(body), storages: Self.storage),
                              name: "h.pt", sourceLocation: sourceLocation)
    }

    @Test("a minimal hand-written state dict loads")
    func minimal() throws {
        let c = try load(P.orderedDict([("w", P.tensor(key: "0", numel: 6, offset: 0, shape: [2, 3], strides: [3, 1]))]))
        #expect(c.tensors == ["w": Tensor(shape: [2, 3], data: [0, 1, 2, 3, 4, 5])])
    }

    @Test("globals outside the whitelist are never called", arguments: [("posix", "system"), ("builtins", "eval"), ("torch", "load")])
    func forbiddenGlobal(module: String, name: String) {
        let body = P.global(module, name) + P.mark + P.str("touch /tmp/pwned") + P.tuple + P.reduce
        expectCheckpointError(.unsupportedGlobal(file: "h.pt", name: "\(module).\(name)"),
                              loading: P.archive(P.pickle(body)), name: "h.pt")
    }

    @Test("an object restored by copyreg names its class")
    func copyreg() {
        let body = P.global("copyreg", "_reconstructor") + P.mark + P.global("__main__", "Net")
            + P.global("builtins", "object") + [0x4E] + P.tuple + P.reduce
        expectCheckpointError(.pickledModule(file: "h.pt", className: "__main__.Net"), loading: P.archive(P.pickle(body)), name: "h.pt")
    }

    @Test("a list that contains itself")
    func selfReference() {
        expectBadPickle(P.emptyList + P.put(0) + P.get(0) + P.append, "a list contains itself")
    }

    @Test("writing into a container already stored elsewhere (how cycles and endless chains are built)")
    func sealed() {
        // a = []; b = [a]; a.append(b)
        let body = P.emptyList + P.put(0) + P.emptyList + P.get(0) + P.append + P.put(1) + [0x30] // POP b
            + P.get(1) + P.append
        expectBadPickle(body, "a container is modified after being stored elsewhere")
    }

    @Test("nesting deeper than any config", arguments: ["tuple", "list"])
    func deep(kind: String) {
        var body: [UInt8]
        if kind == "tuple" {
            body = P.emptyTuple + [UInt8](repeating: P.tuple1[0], count: 100_000)
        } else {
            // Each round wraps the list built so far in a new one: memoise, pop, new list, fetch, append.
            body = P.emptyList
            for _ in 0..<(Unpickler.maxNesting + 5) { body += P.put(0) + [0x30] + P.emptyList + P.get(0) + P.append }
        }
        expectBadPickle(body, "values nested deeper than \(Unpickler.maxNesting) levels")
    }

    static let pastStorage: [(shape: [Int64], strides: [Int64], offset: Int64)] = [
        ([2, 3], [3, 1], 1),          // contiguous, shifted one element
        ([3, 3], [1, 3], 0),          // transposed view larger than the storage
        ([1 << 40, 1 << 40], [1, 1], 0),  // shape product overflows
        ([1 << 30], [0], 0),          // broadcast far beyond the storage
    ]

    @Test("a view reaching past its storage", arguments: pastStorage)
    func outOfRange(shape: [Int64], strides: [Int64], offset: Int64) {
        let body = P.orderedDict([("w", P.tensor(key: "0", numel: 6, offset: offset, shape: shape, strides: strides))])
        expectCheckpointError(loading: P.archive(P.pickle(body), storages: Self.storage), name: "h.pt") {
            if case .storageOutOfRange(_, "0", _) = $0 { return true } else { return false }
        }
    }

    @Test("negative sizes, strides or offsets")
    func negative() {
        let body = P.orderedDict([("w", P.tensor(key: "0", numel: 6, offset: 0, shape: [2], strides: [-1]))])
        expectBadPickle(body, "tensor with offset 0, shape [2] and strides [-1]")
    }

    @Test("an opcode outside the state-dict subset")
    func unknownOpcode() {
        expectBadPickle([0x69] + Array("os\nsystem\n".utf8), "opcode 0x69 at byte 2 is not part of a state dict")   // INST
    }

    @Test("a memo read before any write")
    func memo() { expectBadPickle(P.get(9), "memo entry 9 is read before it is written") }

    @Test("STOP with nothing built")
    func emptyStop() { expectBadPickle([], "STOP with 0 values on the stack") }

    @Test("a pickle without STOP is truncated")
    func noStop() {
        expectCheckpointError(.truncated(file: "h.pt", detail: "the pickle ends before its STOP opcode"),
                              loading: P.archive(P.proto + P.emptyDict), name: "h.pt")
    }

    @Test("a persistent id that is not a storage")
    func persistentId() {
        expectBadPickle(P.mark + P.str("module") + P.str("x") + P.tuple + P.persid, "a persistent id is not a storage record")
    }

    @Test("a dict without tensors lists its keys")
    func noStateDict() {
        expectCheckpointError(.noStateDict(file: "h.pt", keys: ["epoch", "optimizer"]),
                              loading: P.archive(P.pickle(P.emptyDict + P.mark + P.str("epoch") + P.int(3)
                                  + P.str("optimizer") + P.emptyDict + P.setItems)), name: "h.pt")
    }

    @Test("a top-level list is not a state dict")
    func topList() {
        expectCheckpointError(.noStateDict(file: "h.pt", keys: []), loading: P.archive(P.pickle(P.emptyList)), name: "h.pt")
    }

    @Test("keys that collide once module. is removed")
    func duplicate() {
        let t = P.tensor(key: "0", numel: 6, offset: 0, shape: [6], strides: [1])
        expectCheckpointError(.duplicateKey(file: "h.pt", key: "w"),
                              loading: P.archive(P.pickle(P.orderedDict([("w", t), ("module.w", t)])), storages: Self.storage),
                              name: "h.pt")
    }

    @Test("only a leading module. is removed, and only from keys that have it")
    func partialPrefix() throws {
        let t = P.tensor(key: "0", numel: 6, offset: 0, shape: [6], strides: [1])
        let c = try load(P.orderedDict([("module.a", t), ("b.module.c", t)]))
        #expect(c.keyOrder == ["a", "b.module.c"])
    }

    @Test("_rebuild_from_type_v2 and _rebuild_parameter unwrap to the tensor")
    func rebuildWrappers() throws {
        let inner = P.tensor(key: "0", numel: 6, offset: 2, shape: [2], strides: [2])
        // _rebuild_tensor_v2(...) as the inner call of _rebuild_from_type_v2(func, Parameter, args, {})
        let innerArgs = Array(inner.dropFirst(P.global("torch._utils", "_rebuild_tensor_v2").count).dropLast(1))
        let fromType = P.global("torch._tensor", "_rebuild_from_type_v2") + P.mark
            + P.global("torch._utils", "_rebuild_tensor_v2") + P.global("torch.nn.parameter", "Parameter")
            + innerArgs + P.emptyDict + P.tuple + P.reduce
        let parameter = P.global("torch._utils", "_rebuild_parameter") + P.mark + inner + [0x88] + P.global("collections", "OrderedDict")
            + P.emptyTuple + P.reduce + P.tuple + P.reduce
        let c = try load(P.orderedDict([("a", fromType), ("b", parameter)]))
        #expect(c.tensors["a"] == Tensor(shape: [2], data: [2, 4]))
        #expect(c.tensors["b"] == Tensor(shape: [2], data: [2, 4]))
    }

    @Test("protocol 4 opcodes (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL) are understood")
    func protocol4() throws {
        func short(_ s: String) -> [UInt8] { [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        let tensor = short("torch._utils") + short("_rebuild_tensor_v2") + [0x93, 0x94]
            + P.mark + P.mark + short("storage") + short("torch") + short("FloatStorage") + [0x93] + short("0") + short("cpu")
            + [0x4B, 6] + P.tuple + P.persid + [0x4B, 0] + [0x4B, 3] + P.tuple1 + [0x4B, 2] + P.tuple1 + P.newFalse
            + short("collections") + short("OrderedDict") + [0x93, 0x94] + P.emptyTuple + P.reduce + P.tuple + P.reduce
        let body = [0x95] + le64(0) + short("collections") + short("OrderedDict") + [0x93, 0x94] + P.emptyTuple + P.reduce
            + [0x94] + P.mark + short("w") + tensor + P.setItems
        let c = try CheckpointLoader.load(bytes: P.archive([0x80, 0x04] + body + P.stop, storages: Self.storage), name: "p4.pt")
        #expect(c.tensors["w"] == Tensor(shape: [3], data: [0, 2, 4]))
    }

    @Test("extras that share one value exponentially often stay small")
    func sharedExtras() throws {
        // bomb = ((L, L), (L, L))… sixty levels deep over one memoised list: 2^60 leaves if expanded.
        var bomb = P.emptyList + P.mark + P.int(1) + P.int(2) + [0x65] + P.put(0)
        for _ in 0..<60 { bomb += [0x30] + P.get(0) + P.get(0) + [0x86] + P.put(0) }
        let model = P.orderedDict([("w", P.tensor(key: "0", numel: 6, offset: 0, shape: [6], strides: [1]))])
        let body = P.emptyDict + P.mark + P.str("model") + model + P.str("bomb") + bomb + P.str("epoch") + P.int(5) + P.setItems
        let c = try load(body)
        #expect(c.tensors["w"]?.shape == [6])
        #expect(c.extras["epoch"] == .number(5))
        #expect(c.extras["bomb"]?.array?.count == 2)
    }
}
