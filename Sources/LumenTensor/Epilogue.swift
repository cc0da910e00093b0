/// What a convolution does to each output channel while the tile is still in
/// cache: an affine (folded eval BatchNorm, or any per-channel scale/shift) and
/// an activation. Fusing it saves a full read and write of the activation
/// volume per layer, which at 96³ × 16 channels is as much memory traffic as
/// the convolution's own output.
public struct Epilogue: Sendable, Equatable {
    /// Multiplies the biased convolution output of channel c; nil means 1.
    public var scale: [Float]?
    /// Added after the scale; nil means 0.
    public var shift: [Float]?
    public var activation: Activation

    public init(scale: [Float]? = nil, shift: [Float]? = nil, activation: Activation = .identity) {
        self.scale = scale
        self.shift = shift
        self.activation = activation
    }
}

/// The epilogue with the convolution bias folded in, y = act(acc · scale[c] + shift[c]),
/// so the output pass touches each value once whatever was fused.
struct ChannelEpilogue: Sendable {
    var scale: [Float]?
    var shift: [Float]?
    var activation: Activation

    init(bias: [Float]?, _ e: Epilogue = .init()) {
        scale = e.scale
        activation = e.activation
        if let bias {
            shift = bias.indices.map { c in bias[c] * (e.scale?[c] ?? 1) + (e.shift?[c] ?? 0) }
        } else {
            shift = e.shift
        }
    }

    init(bias: [Float]?, activation: Activation) {
        self.init(bias: bias, Epilogue(activation: activation))
    }

    var isIdentity: Bool { scale == nil && shift == nil && activation == .identity }

    @inline(__always)
    func apply(_ p: UnsafeMutablePointer<Float>, channel c: Int, count: Int) {
        if let scale {
            activation.apply(p, count: count, scale: scale[c], shift: shift?[c] ?? 0)
        } else {
            activation.apply(p, count: count, bias: shift?[c] ?? 0)
        }
    }

    /// Applies to `columns` of every row of a [channels × ld] block.
    @inline(__always)
    func apply(rows y: UnsafeMutablePointer<Float>, channels: Range<Int>, ld: Int, columns: Range<Int>) {
        if isIdentity { return }
        for (r, c) in channels.enumerated() {
            apply(y + r * ld + columns.lowerBound, channel: c, count: columns.count)
        }
    }
}
