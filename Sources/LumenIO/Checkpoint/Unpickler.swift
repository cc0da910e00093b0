/// A pickle VM for what `torch.save(state_dict)` writes, and nothing else:
/// no arbitrary globals are ever called, so a hostile file cannot run code.
struct Unpickler {
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
            case 0x2E: return try pop()                            // STOP
            case 0x28: marks.append(stack.count)                   // MARK
            case 0x29: stack.append(.tuple([]))                    // EMPTY_TUPLE
            case 0x5D: stack.append(.list(PickleList()))           // EMPTY_LIST
            case 0x7D: stack.append(.dict(PickleDict()))           // EMPTY_DICT
            case 0x8F: stack.append(.list(PickleList()))           // EMPTY_SET
            case 0x4E: stack.append(.none)                         // NONE
            case 0x88: stack.append(.bool(true))                   // NEWTRUE
            case 0x89: stack.append(.bool(false))                  // NEWFALSE
            case 0x4B: stack.append(.int(Int64(try byte())))       // BININT1
            case 0x4D: stack.append(.int(Int64(try uint(2))))      // BININT2
            case 0x4A: stack.append(.int(Int64(Int32(truncatingIfNeeded: try uint(4))))) // BININT
            case 0x8A:                                                                    // LONG1
                let n = Int(try byte())   // the legacy magic number is 10 bytes long
                stack.append(n > 8 ? .bytes(Array(try take(n))) : .int(try long(n)))
            case 0x47: stack.append(.float(Double(bitPattern: try bigEndian64())))        // BINFLOAT
            case 0x58: stack.append(.string(try utf8(try uint(4))))                       // BINUNICODE
            case 0x8C: stack.append(.string(try utf8(Int(try byte()))))                   // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try utf8(try uint(8))))                       // BINUNICODE8
            case 0x55: stack.append(.string(try latin1(Int(try byte()))))                 // SHORT_BINSTRING
            case 0x54: stack.append(.string(try latin1(try uint(4))))                     // BINSTRING
            case 0x42: stack.append(.bytes(Array(try take(try uint(4)))))                 // BINBYTES
            case 0x43: stack.append(.bytes(Array(try take(Int(try byte())))))            // SHORT_BINBYTES
            case 0x74: stack.append(.tuple(try popMark()))                                // TUPLE
            case 0x85: let a = try pop(); stack.append(.tuple([a]))                       // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))     // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))
            case 0x61: let v = try pop(); try list(top()).items.append(v)                 // APPEND
            case 0x65: let vs = try popMark(); try list(top()).items.append(contentsOf: vs) // APPENDS
            case 0x73: let v = try pop(), k = try pop(); try dict(top()).set(k, v)        // SETITEM
            case 0x75:                                                                    // SETITEMS
                let vs = try popMark()
                let d = try dict(top())
                guard vs.count % 2 == 0 else { throw bad("odd SETITEMS") }
                for i in stride(from: 0, to: vs.count, by: 2) { d.set(vs[i], vs[i + 1]) }
            case 0x71: memo[Int(try byte())] = try top()                                  // BINPUT
            case 0x72: memo[try uint(4)] = try top()                                      // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                                       // MEMOIZE
            case 0x68: stack.append(try memoGet(Int(try byte())))                        // BINGET
            case 0x6A: stack.append(try memoGet(try uint(4)))                             // LONG_BINGET
            case 0x63: stack.append(.global(module: try line(), name: try line()))        // GLOBAL
            case 0x93:                                                                    // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let m = module.text, let n = name.text else { throw bad("STACK_GLOBAL needs strings") }
                stack.append(.global(module: m, name: n))
            case 0x51: stack.append(try persistentLoad(try tupleItems(try pop())))        // BINPERSID
            case 0x52, 0x81:                                                              // REDUCE, NEWOBJ
                let args = try tupleItems(try pop())
                stack.append(try call(try pop(), args))
            case 0x62: _ = try pop()                                                      // BUILD: state ignored
            default:
                throw bad("opcode 0x\(String(op, radix: 16)) is not part of a state dict")
            }
        }
    }

    /// The only callables: containers, tensor rebuilders and a few harmless helpers.
    private func call(_ callee: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callee else { throw bad("call of a non-global") }
        switch (module, name) {
        case ("collections", "OrderedDict"), ("builtins", "dict"):
            return .dict(PickleDict())
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"),
             ("torch._utils", "_rebuild_tensor_v3"):
            guard args.count >= 4, case .storage(var storage) = args[0], let offset = args[1].integer else {
                throw bad("malformed tensor record")
            }
            let shape = try intList(args[2]), strides = try intList(args[3])
            if name == "_rebuild_tensor_v3", args.count >= 7, case .global(_, let dt) = args[6],
               let dtype = TorchDType(torchName: dt) {
                storage.dtype = dtype
            }
            guard shape.count == strides.count, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
                throw bad("tensor with shape \(shape) and strides \(strides)")
            }
            return .tensor(TensorRef(storage: storage, offset: offset, shape: shape, strides: strides))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"):
            guard let data = args.first else { throw bad("empty parameter") }
            return data
        case ("_codecs", "encode"):
            guard let s = args.first?.text else { throw bad("_codecs.encode without text") }
            return .bytes(s.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case ("torch", "device"), ("torch", "Size"), ("builtins", "set"), ("builtins", "frozenset"):
            return args.first ?? .none
        case ("builtins", "slice"), ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
             ("numpy", "dtype"):
            return .opaque("\(module).\(name)")
        default:
            if module.hasPrefix("monai.") || module.hasPrefix("torch.nn.") || module.hasPrefix("__main__") {
                throw CheckpointError.pickledModule(file: file, className: "\(module).\(name)")
            }
            throw CheckpointError.unsupportedGlobal(file: file, name: "\(module).\(name)")
        }
    }

    private func intList(_ v: PickleValue) throws -> [Int] {
        try tupleItems(v).map { guard let i = $0.integer else { throw bad("expected integers") }; return i }
    }

    private func tupleItems(_ v: PickleValue) throws -> [PickleValue] {
        switch v {
        case .tuple(let items): return items
        case .list(let l): return l.items
        default: throw bad("expected a tuple")
        }
    }

    private func list(_ v: PickleValue) throws -> PickleList {
        guard case .list(let l) = v else { throw bad("APPEND to a non-list") }
        return l
    }

    private func dict(_ v: PickleValue) throws -> PickleDict {
        guard case .dict(let d) = v else { throw bad("SETITEM on a non-dict") }
        return d
    }

    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw bad("stack underflow") }
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
        guard let v = memo[i] else { throw bad("memo \(i) missing") }
        return v
    }

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
        guard v <= UInt64(Int.max) else { throw bad("length too large") }
        return Int(v)
    }

    private mutating func long(_ n: Int) throws -> Int64 {
        guard n <= 8 else { throw bad("integer of \(n) bytes") }
        let raw = try take(n)
        guard n > 0 else { return 0 }
        var v: UInt64 = 0
        for (k, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
        if n < 8, raw.last! & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }
        return Int64(bitPattern: v)
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
            if out.count > 256 { throw bad("GLOBAL name too long") }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func bad(_ detail: String) -> CheckpointError { .badPickle(file: file, detail: detail) }
}
