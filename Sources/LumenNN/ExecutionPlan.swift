import LumenTensor

/// A value in a plan: slot 0 is the network input, every other slot is one
/// step's output.
typealias Slot = Int

/// What a step computes from its input slots.
enum StepKind {
    /// A straight run of conv / norm / activation ops, fused at bind time.
    case chain(Chain)
    /// Two chains on the same input, with outputs[0] and outputs[1]: a residual
    /// unit's first conv and its strided shortcut, which can share one im2col.
    case pair(Chain, Chain)
    /// inputs[0] + inputs[1], then the activation (DynUNet's res block ends in one).
    case add(Activation)
    /// Channels of inputs[0] first, then inputs[1].
    case concat
    case maxPool
    /// Trilinear (bilinear in 2-D) ×2, align_corners=False.
    case upsampleLinear
    /// Replicate-pad inputs[0] at the high end up to inputs[1]'s spatial size (BasicUNet odd sizes).
    case padHigh
}

struct Step {
    let kind: StepKind
    let inputs: [Slot]
    let outputs: [Slot]
    var output: Slot { outputs[0] }
}

/// Records a family's dataflow once, at construction, so that forward,
/// memory estimates and FLOP counts all walk the same graph instead of three
/// hand-written copies that could drift apart.
final class PlanBuilder {
    private(set) var steps: [Step] = []
    private var slots = 1
    let input: Slot = 0

    private func emit(_ kind: StepKind, _ inputs: [Slot], outputs count: Int = 1) -> Slot {
        let out = slots
        slots += count
        steps.append(Step(kind: kind, inputs: inputs, outputs: Array(out..<(out + count))))
        return out
    }

    /// An empty chain is an identity and costs no step.
    func chain(_ c: Chain, _ x: Slot) -> Slot { c.ops.isEmpty ? x : emit(.chain(c), [x]) }
    func conv(_ c: ConvOp, _ x: Slot) -> Slot { emit(.chain(Chain([.conv(c)])), [x]) }
    func pair(_ a: Chain, _ b: Chain, _ x: Slot) -> (Slot, Slot) {
        let first = emit(.pair(a, b), [x], outputs: 2)
        return (first, first + 1)
    }
    func add(_ a: Slot, _ b: Slot, activation: Activation = .identity) -> Slot { emit(.add(activation), [a, b]) }
    func concat(_ a: Slot, _ b: Slot) -> Slot { emit(.concat, [a, b]) }
    func maxPool(_ x: Slot) -> Slot { emit(.maxPool, [x]) }
    func upsampleLinear(_ x: Slot) -> Slot { emit(.upsampleLinear, [x]) }
    func padHigh(_ x: Slot, like reference: Slot) -> Slot { emit(.padHigh, [x, reference]) }

    func finish(output: Slot) -> ExecutionPlan {
        ExecutionPlan(steps: steps, slotCount: slots, output: output)
    }
}

/// The frozen schedule of one network: steps in order, and for each step the
/// slots that die there, so every activation is released right after its last
/// reader and peak memory is the widest cut through the graph, not the sum of
/// all activations.
struct ExecutionPlan {
    let steps: [Step]
    let slotCount: Int
    let output: Slot
    /// released[i]: slots whose last reader is step i (never the output).
    let released: [[Slot]]

    init(steps: [Step], slotCount: Int, output: Slot) {
        self.steps = steps
        self.slotCount = slotCount
        self.output = output
        var lastUse = [Int](repeating: -1, count: slotCount)
        for (i, step) in steps.enumerated() { for s in step.inputs { lastUse[s] = i } }
        var released = [[Slot]](repeating: [], count: steps.count)
        for (slot, i) in lastUse.enumerated() where i >= 0 && slot != output { released[i].append(slot) }
        self.released = released
    }

    var chains: [Chain] {
        steps.flatMap { step -> [Chain] in
            switch step.kind {
            case .chain(let c): return [c]
            case .pair(let a, let b): return [a, b]
            default: return []
            }
        }
    }

    func bind(_ store: ParamStore) { chains.forEach { $0.bind(store) } }

    func run(_ x: Tensor) -> Tensor {
        var values = [Tensor?](repeating: nil, count: slotCount)
        values[0] = x
        for (i, step) in steps.enumerated() {
            let dying = released[i]
            /// Hands over the slot's tensor, emptying the slot when this is its
            /// last reader so that the kernel holds the only reference.
            func take(_ s: Slot) -> Tensor {
                let t = values[s]!
                if dying.contains(s) { values[s] = nil }
                return t
            }
            let a = step.inputs[0]
            let result: Tensor
            switch step.kind {
            case .chain(let c):
                result = c(take(a))
            case .pair(let first, let second):
                let (y0, y1) = Chain.pair(first, second, on: take(a))
                values[step.outputs[1]] = y1
                result = y0
            case .add(let activation):
                let b = step.inputs[1]
                if dying.contains(a) && a != b {
                    var sum = take(a)
                    Profiler.measure("add (in place)") { Kernels.add(into: &sum, values[b]!, activation: activation) }
                    result = sum
                } else if dying.contains(b) && a != b {
                    var sum = take(b)
                    Profiler.measure("add (in place)") { Kernels.add(into: &sum, values[a]!, activation: activation) }
                    result = sum
                } else {
                    result = Profiler.measure("add") { Kernels.add(values[a]!, values[b]!, activation: activation) }
                }
            case .concat:
                result = Profiler.measure("concat") { Kernels.concatChannels(values[a]!, values[step.inputs[1]]!) }
            case .maxPool:
                let t = take(a)
                result = Profiler.measure("maxpool") { Kernels.maxPool(t) }
            case .upsampleLinear:
                let t = take(a)
                result = Profiler.measure("upsample") { Kernels.upsampleLinear(t) }
            case .padHigh:
                let t = take(a)
                let target = values[step.inputs[1]]!.spatialShape
                result = t.spatialShape == target ? t : Profiler.measure("pad") { Kernels.padHighReplicate(t, to: target) }
            }
            for s in dying { values[s] = nil }
            values[step.output] = result
        }
        return values[output]!
    }

    // MARK: - Static analysis

    /// Shape of every slot for an input shape, by the same rules the kernels use.
    func shapes(input: [Int]) -> [[Int]] {
        var shapes = [[Int]](repeating: [], count: slotCount)
        shapes[0] = input
        for step in steps {
            let a = shapes[step.inputs[0]]
            switch step.kind {
            case .chain(let c): shapes[step.output] = c.outputShape(a)
            case .pair(let first, let second):
                shapes[step.outputs[0]] = first.outputShape(a)
                shapes[step.outputs[1]] = second.outputShape(a)
            case .add: shapes[step.output] = a
            case .concat:
                let b = shapes[step.inputs[1]]
                shapes[step.output] = [a[0], a[1] + b[1]] + a.dropFirst(2)
            case .maxPool: shapes[step.output] = Array(a.prefix(2)) + a.dropFirst(2).map { $0 / 2 }
            case .upsampleLinear: shapes[step.output] = Array(a.prefix(2)) + a.dropFirst(2).map { $0 * 2 }
            case .padHigh: shapes[step.output] = Array(a.prefix(2)) + shapes[step.inputs[1]].dropFirst(2)
            }
        }
        return shapes
    }

    /// Largest sum of simultaneously live activations (float32 bytes) over the
    /// run, counting the input and, inside a chain, each op's input and output
    /// together. Kernel scratch (im2col panels, Winograd tiles) is not included.
    func peakBytes(input: [Int]) -> Int {
        let shapes = shapes(input: input)
        func size(_ s: [Int]) -> Int { s.reduce(1, *) * MemoryLayout<Float>.size }
        var live: Set<Slot> = [0]
        var liveBytes = size(input)
        var peak = liveBytes
        for (i, step) in steps.enumerated() {
            let input = shapes[step.inputs[0]]
            let transient: Int
            switch step.kind {
            case .chain(let c): transient = c.transientBytes(input: input)
            // Both convs' outputs exist before either chain goes on.
            case .pair(let first, let second):
                let firstOut = size(first.leadingShape(input)), secondOut = size(second.leadingShape(input))
                transient = max(firstOut + secondOut,
                                first.transientBytes(input: input) + secondOut,
                                size(first.outputShape(input)) + second.transientBytes(input: input))
            default: transient = size(shapes[step.output])
            }
            peak = max(peak, liveBytes + transient)
            for s in released[i] where live.remove(s) != nil { liveBytes -= size(shapes[s]) }
            for out in step.outputs where live.insert(out).inserted { liveBytes += size(shapes[out]) }
            peak = max(peak, liveBytes)
        }
        return peak
    }

    /// Multiply-adds of every convolution for an input shape.
    func multiplyAdds(input: [Int]) -> Int {
        let shapes = shapes(input: input)
        var total = 0
        for step in steps {
            let x = shapes[step.inputs[0]]
            let spatial = Array(x.dropFirst(2))
            switch step.kind {
            case .chain(let c): total += x[0] * c.macs(input: spatial).0
            case .pair(let first, let second): total += x[0] * (first.macs(input: spatial).0 + second.macs(input: spatial).0)
            default: break
            }
        }
        return total
    }
}
