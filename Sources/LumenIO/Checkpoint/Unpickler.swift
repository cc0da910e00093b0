/// A pickle VM for what `torch.save(state_dict)` writes, and nothing else:
/// no arbitrary globals are ever called, so a hostile file cannot run code.
struct Unpickler {
    /// Deeper than any training config; low enough that walking or freeing the
    /// result recursively stays far from the stack limit of a test thread.
    static let maxNesting = 200

    let bytes: ArraySlice<UInt8>
    let file: String
    /// Maps the persistent id tuple of a storage to a reference (zip and legacy differ).
    let persistentLoad: ([PickleValue]) throws -> PickleValue

    private var p: Int
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    init(bytes: ArraySlice<UInt8>, file: String, persistentLoad: @escaping ([PickleValue]) throws -> PickleValue) {
        self.bytes = bytes
        self.file = file
        self.persistentLoad = persistentLoad
        self.p = bytes.startIndex
    }

    /// Where the next pickle starts (the legacy format stores several back to back).
    var position: Int { p }

    mutating func load() throws -> PickleValue {
        stack = []; marks = []; memo = [:]
        while true {
            let op = try byte()
            switch op {
            case 0x80: _ = try byte()                              // PROTO
            case 0x95: _ = try take(8)                             // FRAME
            case 0x2E:                                             // STOP
                guard marks.isEmpty, stack.count == 1 else { throw bad("STOP with \(stack.count) values on the stack") }
                return try pop()
            case 0x28: marks.append(stack.count)                   // MARK
            case 0x30: _ = try pop()                               // POP
            case 0x31: _ = try popMark()                           // POP_MARK
            case 0x32: stack.append(try top())                     // DUP
            case 0x29: stack.append(try tuple([]))                 // EMPTY_TUPLE
            case 0x5D: stack.append(.list(PickleList()))           // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict()))           // EMPTY_DICT
            case 0x8F: stack.append(.list(PickleList()))           // EMPTY_SET (kept as a list)
            case 0x4E: stack.append(.none)                         // NONE
            case 0x88: stack.append(.bool(true))                   // NEWTRUE
            case 0x89: stack.append(.bool(false))                  // NEWFALSE
            case 0x4B: stack.append(.int(Int64(try byte())))       // BININT1
            case 0x4D: stack.append(.int(Int64(try uint(2))))      // BININT2
            case 0x4A: stack.append(.int(Int64(Int32(truncatingIfNeeded: try uint(4))))) // BININT
            case 0x8A: stack.append(try longValue(Int(try byte())))                       // LONG1
            case 0x8B: stack.append(try longValue(try uint(4)))                           // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: try bigEndian64())))        // BINFLOAT
            case 0x58: stack.append(.string(try utf8(try uint(4))))                       // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(Int(try byte()))))                   // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try utf8(try uint(8))))                       // BINUNICODE8
            case 0x55: stack.append(.string(try latin1(Int(try byte()))))                 // SHORT_BINSTRING
            case 0x54: stack.append(.string(try latin1(try uint(4))))                     // BINSTRING
            case 0x42: stack.append(.bytes(Array(try take(try uint(4)))))                 // BINBYTES
            case 0x43: stack.append(.bytes(Array(try take(Int(try byte())))))            // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(Array(try take(try uint(8)))))                 // BINBYTES8
            case 0x74: stack.append(try tuple(try popMark()))                             // TUPLE
            case 0x85: let a = try pop(); stack.append(try tuple([a]))                    // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(try tuple([a, b]))  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(try tuple([a, b, c])) // TUPLE3
            case 0x61: let v = try pop(); try append([v], to: try top())                  // APPEND
            case 0x65, 0x90: let vs = try popMark(); try append(vs, to: try top())        // APPENDS, ADDITEMS
            case 0x91: stack.append(.list(try filledList(try popMark())))                 // FROZENSET
            case 0x73: let v = try pop(), k = try pop(); try setItems([k, v], in: try top()) // SETITEM
            case 0x75: let vs = try popMark(); try setItems(vs, in: try top())            // SETITEMS
            case 0x71: memo[Int(try byte())] = try top()                                  // BINPUT
            case 0x72: memo[try uint(4)] = try top()                                      // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                                       // MEMOIZE
            case 0x68: stack.append(try memoGet(Int(try byte())))                        // BINGET
            case 0x6A: stack.append(try memoGet(try uint(4)))                             // LONG_BINGET
            case 0x63: stack.append(.global(module: try line(), name: try line()))        // GLOBAL
            case 0x93:                                                                    // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let m = module.text, let n = name.text else { throw bad("STACK_GLOBAL needs two strings") }
                stack.append(.global(module: m, name: n))
            case 0x51:                                                                    // BINPERSID
                guard let pid = try pop().sequence else { throw bad("persistent id is not a tuple") }
                stack.append(try persistentLoad(pid))
            case 0x52, 0x81:                                                              // REDUCE, NEWOBJ
                let argument = try pop()
                guard let args = argument.sequence else { throw bad("call arguments are not a tuple") }
                seal(argument)
                stack.append(try call(try pop(), args))
            case 0x62: _ = try pop(); _ = try top()                                       // BUILD: state ignored
            default:
                throw bad("opcode 0x\(String(op, radix: 16)) at byte \(p - 1 - bytes.startIndex) is not part of a state dict")
            }
        }
    }

    // MARK: calls

    /// The only callables: containers, tensor rebuilders and a few harmless helpers.
    private func call(_ callee: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callee else { throw bad("call of something that is not a global") }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
            let d = PickleDict()
            // Old pickles pass the items as a list of pairs instead of SETITEMS.
            if let pairs = args.first?.sequence {
                for pair in pairs {
                    guard let kv = pair.sequence, kv.count == 2 else { throw bad("OrderedDict item is not a pair") }
                    try setItems(kv, in: .dict(d))
                }
            }
            return .dict(d)
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"),
             ("torch._utils", "_rebuild_tensor_v3"):
            return try rebuildTensor(args, v3: name == "_rebuild_tensor_v3")
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let data = args.first else { throw bad("parameter without data") }
            return data
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (rebuild function, tensor subclass, its arguments, state): only the inner rebuild matters.
            guard args.count >= 3, let inner = args[2].sequence else { throw bad("malformed _rebuild_from_type_v2") }
            return try call(args[0], inner)
        case ("_codecs", "encode"):
            // Protocol 2 spells bytes as latin-1 text.
            guard let s = args.first?.text else { throw bad("_codecs.encode without text") }
            return .bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case ("torch", "device"), ("torch", "Size"), ("builtins", "set"), ("builtins", "frozenset"),
             ("__builtin__", "set"):
            return args.first ?? .tuple(PickleTuple(items: [], nesting: 1))
        case ("numpy", "dtype"):
            return .opaque("numpy.dtype:\(args.first?.text ?? "?")")
        case ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"):
            return Self.numpyScalar(args)
        case ("builtins", "slice"), ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"):
            return .opaque("\(module).\(name)")
        case ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"):
            // Protocol 0/1 objects: the first argument names the class being restored.
            if case .global(let m, let n) = args.first { throw objectError(m, n) }
            throw CheckpointError.unsupportedGlobal(file: file, name: "\(module).\(name)")
        default:
            throw objectError(module, name)
        }
    }

    private func objectError(_ module: String, _ name: String) -> CheckpointError {
        let isModule = module == "monai" || module.hasPrefix("monai.") || module.hasPrefix("torch.nn.modules")
            || module.hasPrefix("torch.nn.") || module == "__main__"
        return isModule ? .pickledModule(file: file, className: "\(module).\(name)")
            : .unsupportedGlobal(file: file, name: "\(module).\(name)")
    }

    /// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`;
    /// v3 adds the dtype for untyped storages at position 6.
    private func rebuildTensor(_ args: [PickleValue], v3: Bool) throws -> PickleValue {
        guard args.count >= 4, case .storage(var storage) = args[0], let offset = args[1].integer else {
            throw bad("malformed tensor record")
        }
        let shape = try intList(args[2]), strides = try intList(args[3])
        if v3 {
            guard args.count >= 7, case .global(_, let dt) = args[6] else { throw bad("_rebuild_tensor_v3 without a dtype") }
            guard let dtype = TorchDType(torchName: dt) else { throw CheckpointError.unsupportedDType(file: file, dtype: dt) }
            storage.dtype = dtype
        }
        guard shape.count == strides.count, offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw bad("tensor with offset \(offset), shape \(shape) and strides \(strides)")
        }
        return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
    }

    /// MMAR checkpoints sometimes keep a metric as a numpy scalar; decode the
    /// common numeric kinds so `extras` shows a number, keep the rest opaque.
    static func numpyScalar(_ args: [PickleValue]) -> PickleValue {
        guard args.count >= 2, case .opaque(let dtype) = args[0], case .bytes(let raw) = args[1] else {
            return .opaque("numpy scalar")
        }
        func le(_ n: Int) -> UInt64? {
            guard raw.count == n else { return nil }
            return raw.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        switch dtype {
        case "numpy.dtype:f8": if let v = le(8) { return .float(Double(bitPattern: v)) }
        case "numpy.dtype:f4": if let v = le(4) { return .float(Double(Float(bitPattern: UInt32(v)))) }
        case "numpy.dtype:i8": if let v = le(8) { return .int(Int64(bitPattern: v)) }
        case "numpy.dtype:i4": if let v = le(4) { return .int(Int64(Int32(bitPattern: UInt32(v)))) }
        case "numpy.dtype:b1": if let v = le(1) { return .bool(v != 0) }
        default: break
        }
        return .opaque("numpy scalar \(dtype)")
    }

    // MARK: containers

    private func tuple(_ items: [PickleValue]) throws -> PickleValue {
        let nesting = 1 + (items.map(\.nesting).max() ?? 0)
        guard nesting <= Self.maxNesting else { throw bad("values nested deeper than \(Self.maxNesting) levels") }
        items.forEach(seal)
        return .tuple(PickleTuple(items: items, nesting: nesting))
    }

    private func filledList(_ items: [PickleValue]) throws -> PickleList {
        let l = PickleList()
        try append(items, to: .list(l))
        return l
    }

    private func append(_ values: [PickleValue], to target: PickleValue) throws {
        guard case .list(let l) = target else { throw bad("APPEND to something that is not a list") }
        try admit(values, into: l)
        l.items.append(contentsOf: values)
    }

    private func setItems(_ pairs: [PickleValue], in target: PickleValue) throws {
        guard case .dict(let d) = target else { throw bad("SETITEM on something that is not a dict") }
        guard pairs.count % 2 == 0 else { throw bad("SETITEMS with an odd number of values") }
        try admit(pairs, into: d)
        for i in stride(from: 0, to: pairs.count, by: 2) {
            let key: String
            switch pairs[i] {
            case .string(let s): key = s
            case .int(let n): key = String(n)
            case .bool(let b): key = b ? "True" : "False"
            case .none: key = "None"
            default: throw bad("dict key of an unsupported kind")
            }
            d.set(key, pairs[i + 1])
        }
    }

    /// Refuses writes into a container that already sits inside another value
    /// (so no cycles and no unbounded chains) and bounds the nesting depth.
    private func admit(_ values: [PickleValue], into c: PickleContainer) throws {
        guard !c.sealed else { throw bad("a container is modified after being stored elsewhere") }
        for v in values {
            switch v {
            case .list(let x) where x === c: throw bad("a list contains itself")
            case .dict(let x) where x === c: throw bad("a dict contains itself")
            default: break
            }
            c.nesting = max(c.nesting, v.nesting + 1)
            seal(v)
        }
        guard c.nesting <= Self.maxNesting else { throw bad("values nested deeper than \(Self.maxNesting) levels") }
    }

    private func seal(_ v: PickleValue) {
        switch v {
        case .list(let l): l.sealed = true
        case .dict(let d): d.sealed = true
        default: break
        }
    }

    private func intList(_ v: PickleValue) throws -> [Int] {
        guard let items = v.sequence else { throw bad("tensor size or stride is not a tuple") }
        return try items.map { guard let i = $0.integer else { throw bad("tensor size or stride is not an integer") }; return i }
    }

    // MARK: stack and memo

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw bad("stack underflow") }
        if let m = marks.last, m > stack.count { throw bad("value taken from below a MARK") }
        return v
    }

    private func top() throws -> PickleValue {
        guard let v = stack.last else { throw bad("empty stack") }
        return v
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw bad("missing MARK") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func memoGet(_ i: Int) throws -> PickleValue {
        guard let v = memo[i] else { throw bad("memo entry \(i) is read before it is written") }
        return v
    }

    // MARK: bytes

    private mutating func byte() throws -> UInt8 {
        guard p < bytes.endIndex else {
            throw CheckpointError.truncated(file: file, detail: "the pickle ends before its STOP opcode")
        }
        defer { p += 1 }
        return bytes[p]
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.endIndex - p else {
            throw CheckpointError.truncated(file: file, detail: "the pickle ends inside a \(n)-byte value")
        }
        defer { p += n }
        return bytes[p..<(p + n)]
    }

    private mutating func uint(_ n: Int) throws -> Int {
        var v: UInt64 = 0
        for (k, b) in try take(n).enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
        guard v <= UInt64(Int.max) else { throw bad("length \(v) is too large") }
        return Int(v)
    }

    /// LONG1/LONG4: little-endian two's complement. Wider than 64 bits occurs only
    /// for the legacy format's magic number, which is compared as bytes.
    private mutating func longValue(_ n: Int) throws -> PickleValue {
        let raw = try take(n)
        guard n <= 8 else { return .bytes(Array(raw)) }
        guard n > 0 else { return .int(0) }
        var v: UInt64 = 0
        for (k, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
        if n < 8, raw.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }
        return .int(Int64(bitPattern: v))
    }

    private mutating func bigEndian64() throws -> UInt64 {
        var v: UInt64 = 0
        for b in try take(8) { v = v << 8 | UInt64(b) }
        return v
    }

    private mutating func utf8(_ n: Int) throws -> String { String(decoding: try take(n), as: UTF8.self) }
    private mutating func latin1(_ n: Int) throws -> String {
        String(String.UnicodeScalarView(try take(n).map { Unicode.Scalar($0) }))
    }

    private mutating func line() throws -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == 0x0A { break }
            out.append(b)
            if out.count > 256 { throw bad("GLOBAL name longer than 256 bytes") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func bad(_ detail: String) -> CheckpointError { .badPickle(file: file, detail: detail) }
}
