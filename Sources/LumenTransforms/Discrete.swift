import Foundation
import LumenTensor

/// MONAI `Activationsd`: softmax over the channel axis, or an element-wise sigmoid.
public struct Activations: Sendable {
    public enum Kind: String, Sendable { case softmax, sigmoid }
    public var kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var out = x
        let c = x.shape[0], n = x.count / max(c, 1)
        out.data.withUnsafeMutableBufferPointer { p in
            let d = p.baseAddress!
            switch kind {
            case .sigmoid:
                ComputePool.shared.parallelRanges(x.count, minimum: 1 << 16) { range in
                    for i in range { d[i] = 1 / (1 + expf(-d[i])) }
                }
            case .softmax:
                ComputePool.shared.parallelRanges(n, minimum: 1 << 14) { range in
                    for i in range {
                        var top = d[i]
                        for ch in 1..<max(c, 1) { top = max(top, d[ch * n + i]) }
                        var sum: Float = 0
                        for ch in 0..<c { let e = expf(d[ch * n + i] - top); d[ch * n + i] = e; sum += e }
                        for ch in 0..<c { d[ch * n + i] /= sum }
                    }
                }
            }
        }
        return out
    }
}

/// MONAI `AsDiscreted`: argmax over channels (keepdim, float32: the label map),
/// or a threshold (x ≥ t → 1). Ties in argmax go to the first channel, as torch's.
public struct AsDiscrete: Sendable {
    public var argmax: Bool
    public var threshold: Float?

    public init(argmax: Bool = false, threshold: Float? = nil) { self.argmax = argmax; self.threshold = threshold }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let t = argmax ? Self.argmax(x) : x
        guard let threshold else { return t }
        // Into a fresh tensor: the caller still holds `t`, so thresholding in place would first copy
        // it whole (a full-size deepgrow answer is 200 MB).
        var out = Tensor(uninitialized: t.shape)
        t.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let s = xb.baseAddress!, d = ob.baseAddress!
                ComputePool.shared.parallelRanges(ob.count, minimum: 1 << 16) { range in
                    for i in range { d[i] = s[i] >= threshold ? 1 : 0 }
                }
            }
        }
        return out
    }

    /// Channel index of the largest value, as a one-channel float map.
    public static func argmax(_ t: Tensor) -> Tensor {
        let c = t.shape[0], n = t.count / max(c, 1)
        var out = Tensor(uninitialized: [1] + Array(t.shape.dropFirst()))
        t.data.withUnsafeBufferPointer { xb in
            out.data.withUnsafeMutableBufferPointer { ob in
                let x = xb.baseAddress!, o = ob.baseAddress!
                ComputePool.shared.parallelRanges(n, minimum: 1 << 14) { range in
                    for i in range {
                        var best = x[i], index = 0
                        for ch in 1..<max(c, 1) where x[ch * n + i] > best { best = x[ch * n + i]; index = ch }
                        o[i] = Float(index)
                    }
                }
            }
        }
        return out
    }
}
